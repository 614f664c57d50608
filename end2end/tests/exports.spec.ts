import { expect, test } from "@playwright/test";
import ExcelJS from "exceljs";
import { query, teamId } from "./db";
import { ADMIN, login, shownRange, waitForHydration } from "./helpers";

const TEAM = "design-team";

test("Export Excel on By user downloads every row of the table, in its order", async ({ page }, testInfo) => {
  await login(page, ADMIN, `/teams/${TEAM}/users?range=3m`);
  await waitForHydration(page);
  const { from, to } = await shownRange(page);
  const totalRows = Number(await page.locator("[data-total-rows]").getAttribute("data-total-rows"));
  const shown = await page.locator(".users-table tbody tr").evaluateAll((rows) =>
    rows.map((r) => ({
      email: r.querySelectorAll("td")[1].textContent!.trim(),
      tokens: Number(r.querySelector('[data-metric="tokens"]')!.getAttribute("data-value")),
    })),
  );
  expect(shown.length).toBe(50);

  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-export="by-user.xlsx"]')]);
  expect(download.suggestedFilename()).toBe(`tokenboard_${TEAM}_usage-by-user_${from}_${to}.xlsx`);
  const file = testInfo.outputPath("by-user.xlsx");
  await download.saveAs(file);

  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(file);
  expect(book.worksheets.map((s) => s.name)).toEqual(["About", "By user"]);
  const about = new Map<string, string>();
  book.getWorksheet("About")!.eachRow((row) => about.set(String(row.getCell(1).value), String(row.getCell(2).value)));
  expect(about.get("Range")).toBe(`${from} to ${to}`);
  expect(about.get("Rows")).toBe(String(totalRows));

  const sheet = book.getWorksheet("By user")!;
  const header = (sheet.getRow(1).values as any[]).slice(1);
  const emailCol = header.indexOf("Email") + 1;
  const tokensCol = header.indexOf("Tokens used") + 1;
  expect(sheet.actualRowCount - 1).toBe(totalRows);
  shown.forEach((row, i) => {
    const cells = sheet.getRow(i + 2);
    expect(cells.getCell(emailCol).value, `row ${i + 1}`).toBe(row.email);
    expect(cells.getCell(tokensCol).value, `row ${i + 1}`).toBe(row.tokens);
  });
  // The file's total is the range's total over raw charges.
  let fileTokens = 0;
  sheet.eachRow((r, n) => {
    if (n > 1) fileTokens += Number(r.getCell(tokensCol).value);
  });
  const truth = query(
    "SELECT COALESCE(SUM(tokens), 0) AS t FROM usage_charges WHERE team_id = ? AND usage_date BETWEEN ? AND ?",
    [teamId(TEAM), from, to],
  )[0].t;
  expect(fileTokens).toBe(truth);

  // The export history lists it, done, with its rows.
  await page.goto(`/teams/${TEAM}/exports`);
  const first = page.locator(".exports-table tbody tr").first();
  await expect(first).toHaveAttribute("data-status", "done");
  await expect(first.locator('[data-metric="rows"]')).toHaveAttribute("data-value", String(totalRows));
  await expect(first).toContainText(`tokenboard_${TEAM}_usage-by-user_${from}_${to}.xlsx`);
});

test("A schedule is created, listed, paused and refused with a bad or outside recipient", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/schedules`);
  await waitForHydration(page);
  const rows = page.locator(".schedules-table tbody tr");
  const before = await rows.count();

  await page.selectOption("#schedule-report", "token-usage");
  await page.selectOption("#schedule-format", "xlsx");
  await page.selectOption("#schedule-range", "30d");
  await page.selectOption("#schedule-cadence", "monthly");
  await page.fill("#schedule-start", "2027-01-01");
  // Recipients are the team's admins (or allowed domains, none here).
  await page.fill("#schedule-recipients", ADMIN.email);
  await page.click('.schedule-form button[type="submit"]');

  await expect(rows).toHaveCount(before + 1);
  const created = rows.last();
  await expect(created).toContainText("Token usage");
  await expect(created).toContainText("Monthly");
  await expect(created).toContainText(ADMIN.email);
  await expect(created).toContainText("2027-01-01");
  const stored = query("SELECT recipients, cadence, paused FROM report_schedules WHERE team_id = ? ORDER BY id DESC", [
    teamId(TEAM),
  ])[0];
  expect(stored).toEqual({ recipients: ADMIN.email, cadence: "monthly", paused: 0 });

  await created.locator('[data-command="pause"]').click();
  await expect(rows.last()).toHaveAttribute("data-paused", "true");

  await page.fill("#schedule-start", "2027-01-01");
  await page.fill("#schedule-recipients", `${ADMIN.email}, not-an-address`);
  await page.click('.schedule-form button[type="submit"]');
  await expect(page.locator('[role="alert"]')).toContainText('"not-an-address" is not an e-mail address');
  await page.fill("#schedule-start", "2027-01-01");
  await page.fill("#schedule-recipients", "finance@example.com");
  await page.click('.schedule-form button[type="submit"]');
  await expect(page.locator('[role="alert"]')).toContainText('"finance@example.com" may not receive scheduled reports');
  await expect(rows).toHaveCount(before + 1);
});
