/**
 * Hands a Blob to the browser as a download (an object URL on a temporary link): the one
 * download routine, used by the export action and by the charts' save buttons. Lives in
 * state, below the UI, so both can reach it; touches only the DOM.
 */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later: the download may not have read the URL yet when click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
