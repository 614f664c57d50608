import path from "node:path";
import { expect, Page, test } from "@playwright/test";
import { query, rangeTotals, scalar, teamId } from "./db";
import { ADMIN, kpi, login, waitForHydration } from "./helpers";

// Imports go into Engineering; the other files compare with the database,
// so they stay true whatever is imported here.
const TEAM = "engineering";
const XLSX = path.resolve(__dirname, "../../tests/fixtures/vendor-usage.xlsx");

function csvFile(name: string, text: string) {
  return { name, mimeType: "text/csv", buffer: Buffer.from(text) };
}

/** The newest import of the team, as the database holds it. */
function newestImport() {
  return query("SELECT * FROM imports WHERE team_id = ? ORDER BY id DESC LIMIT 1", [teamId(TEAM)])[0];
}

/** Uploads with the page's script, the request held back a moment so the bar can be seen. */
async function uploadWithProgress(page: Page, file: Parameters<Page["setInputFiles"]>[1]) {
  await page.route("**/imports/upload", async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  await page.setInputFiles("#upload-file", file);
  await page.click(".upload-form button[type=submit]");
  const progress = page.locator("[data-upload-progress]");
  await expect(progress).toBeVisible();
  await expect(progress).toHaveAttribute("data-phase", /uploading|importing/);
  await page.waitForURL(/\/imports\?import=\d+/);
  await page.unroute("**/imports/upload");
}

test("a CSV uploaded in the browser shows progress, its counts, and moves the KPIs", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/imports`);
  await waitForHydration(page);
  const day = await page.locator(".freshness").getAttribute("data-through");
  expect(day).toBe(query("SELECT MAX(usage_date) AS d FROM daily_usage WHERE team_id = ?", [teamId(TEAM)])[0].d);
  const csv =
    "Email;Product name;Day used;Tokens\n" +
    `e2e.one@example.com;Revit;${day};40\n` +
    `e2e.two@example.com;AutoCAD;${day};25\n` +
    `e2e.two@example.com;AutoCAD;${day};5\n`;
  const before = rangeTotals(TEAM, day!, day!);
  await uploadWithProgress(page, csvFile("vendor-export.csv", csv));

  const record = newestImport();
  expect([record.file_name, record.source, record.status]).toEqual(["vendor-export.csv", "upload", "done"]);
  const result = page.locator(`.import-result[data-import="${record.id}"]`);
  await expect(result.locator('[data-count="inserted"]')).toHaveText(String(record.inserted));
  expect(record.inserted).toBe(2);
  await expect(result.locator('[data-count="new-users"]')).toHaveText("2");

  // Summary of that day: the KPI is what the database now says, 70 tokens more.
  await page.goto(`/teams/${TEAM}/summary?range=custom&from=${day}&to=${day}`);
  const after = rangeTotals(TEAM, day!, day!);
  expect(after.tokens).toBe(before.tokens + 70);
  expect(await kpi(page, "range-tokens")).toBe(after.tokens);
});

test("an .xlsx workbook uploads like its CSV twin", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/imports`);
  await waitForHydration(page);
  await uploadWithProgress(page, XLSX);
  const record = newestImport();
  expect([record.file_name, record.status, record.row_count]).toEqual(["vendor-usage.xlsx", "done", 7]);
  await expect(page.locator('.import-result [data-count="rows"]')).toHaveText("7");
  await expect(page.locator(".import-result")).toContainText("Cloud Rendering");
});

test("a rejected file shows its bad lines and writes nothing", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/imports`);
  await waitForHydration(page);
  const charges = scalar("SELECT COUNT(*) FROM usage_charges WHERE team_id = ?", [teamId(TEAM)]);
  const bad = "Email,Product,Usage date,Tokens used\nok@example.com,Revit,2026-11-02,3\nbad@example.com,Revit,2026-11-02,-3\n";
  await uploadWithProgress(page, csvFile("bad.csv", bad));
  const rows = page.locator(".bad-lines tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("3");
  await expect(rows.first()).toContainText("negative tokens");
  expect(newestImport().status).toBe("rejected");
  expect(scalar("SELECT COUNT(*) FROM usage_charges WHERE team_id = ?", [teamId(TEAM)])).toBe(charges);
});

test("an import is undone from the Imports page", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/imports`);
  await waitForHydration(page);
  const csv = "Email,Product,Usage date,Tokens used\nundo.me@example.com,Maya,2026-11-20,11\n";
  await uploadWithProgress(page, csvFile("undo-me.csv", csv));
  const id = newestImport().id;
  expect(scalar("SELECT COUNT(*) FROM usage_charges WHERE import_id = ?", [id])).toBe(1);
  const row = page.locator(`.imports-table tr[data-key="${id}"]`);
  await row.locator("summary").click();
  await row.locator(`button[data-undo="${id}"]`).click();
  await expect(page.locator("[data-undone]")).toContainText("1 charges removed");
  await expect(page.locator(`.imports-table tr[data-key="${id}"]`)).toHaveAttribute("data-state", "undone");
  expect(scalar("SELECT COUNT(*) FROM usage_charges WHERE import_id = ?", [id])).toBe(0);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the upload form imports as a plain form post", async ({ page }) => {
    await login(page, ADMIN, `/teams/${TEAM}/imports`);
    await page.setInputFiles("#upload-file", csvFile("no-js.csv", "Email,Product,Usage date,Tokens used\nnojs@example.com,Revit,2026-11-21,9\n"));
    await page.click(".upload-form button[type=submit]");
    await page.waitForURL(/\/imports\?import=\d+/);
    const record = newestImport();
    expect([record.file_name, record.inserted]).toEqual(["no-js.csv", 1]);
    await expect(page.locator(`.import-result[data-import="${record.id}"] [data-count="inserted"]`)).toHaveText("1");
  });
});
