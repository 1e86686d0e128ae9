/**
 * Two tabs on one stored project: the first holds the project's Web Lock and stores it, the
 * second is told the project is open in another tab and works without storing anything; once
 * the first tab closes, a new tab holds the lock and is offered what the first one stored.
 */
import { expect, test, type Page } from '@playwright/test';
import { captureConsoleErrors } from './helpers';

/** Files in the studio's IndexedDB store, read from a page of the origin. */
function storedFileCount(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const open = indexedDB.open('evolver-studio');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains('files')) return (db.close(), resolve(0));
          const count = db.transaction('files').objectStore('files').count();
          count.onsuccess = () => (db.close(), resolve(count.result));
          count.onerror = () => reject(count.error);
        };
      }),
  );
}

test('a second tab on the stored project is told it is open elsewhere and stores nothing', async ({ context }) => {
  const first = await context.newPage();
  const errors = captureConsoleErrors(first);
  await first.goto('/');
  await expect(first.getByRole('button', { name: 'Load sample' })).toBeEnabled();

  const second = await context.newPage();
  const secondErrors = captureConsoleErrors(second);
  await second.goto('/');
  await expect(second.getByRole('status').filter({ hasText: 'This project is open in another tab.' })).toBeVisible();
  await expect(first.getByTestId('open-elsewhere')).toHaveCount(0);
  await second.screenshot({ path: 'test-results/tabs-second.png' });

  // The second tab still works, without storing.
  await second.getByRole('button', { name: 'Load sample' }).click();
  await expect(second.getByTestId('checkpoints').locator('tbody tr')).toHaveCount(4);
  await expect(second.getByTestId('storage-note')).toHaveCount(0);
  await second.waitForTimeout(500);
  expect(await storedFileCount(second)).toBe(0);

  // The first tab stores as before.
  await first.getByRole('button', { name: 'Load sample' }).click();
  await expect(first.getByTestId('storage-note')).toContainText('kept in this browser');
  await expect.poll(() => storedFileCount(first)).toBeGreaterThan(0);

  // A reload is not another tab: the reloaded page takes the lock back and offers what it stored.
  await first.reload();
  await expect(first.getByTestId('stored-project')).toBeVisible();
  await expect(first.getByTestId('open-elsewhere')).toHaveCount(0);

  // Closed, it lets the lock go: a new tab holds it and is offered the stored files.
  await first.close();
  const third = await context.newPage();
  const thirdErrors = captureConsoleErrors(third);
  await third.goto('/');
  await expect(third.getByTestId('stored-project')).toContainText('This browser kept your last session');
  await expect(third.getByTestId('open-elsewhere')).toHaveCount(0);
  expect([...errors, ...secondErrors, ...thirdErrors]).toEqual([]);
});
