/** Hands a Blob to the browser as a download (an object URL on a temporary link). */
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
