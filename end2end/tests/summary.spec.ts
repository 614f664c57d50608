import { expect, test } from "@playwright/test";
import { activeTotal, rangeTotals, scalar, teamId } from "./db";
import { ADMIN, VIEWER, expectedTone, kpi, login, shownRange, waitForHydration } from "./helpers";

/** Asserts that every range KPI on the page equals hand-written SQL over raw charges. */
async function expectRangeKpisMatchDatabase(page: import("@playwright/test").Page, slug: string) {
  const { from, to } = await shownRange(page);
  const truth = rangeTotals(slug, from, to);
  expect(truth.tokens).toBeGreaterThan(0);
  expect(await kpi(page, "range-tokens")).toBe(truth.tokens);
  expect(await kpi(page, "range-users")).toBe(truth.users);
  expect(await kpi(page, "range-products")).toBe(truth.products);
  // The chart's bars add up to the same total.
  const bars = await page.locator(".chart .hit").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-value"))));
  expect(bars.reduce((a, b) => a + b, 0)).toBe(truth.tokens);
  return { from, to, truth, bars };
}

test("a wrong password is refused, the right one opens the first team's Summary", async ({ page }) => {
  await login(page, { email: ADMIN.email, password: "not the password" });
  await expect(page.locator(".form-error")).toContainText("Wrong e-mail or password");
  await login(page);
  // Teams are listed by name: Construction comes first.
  await expect(page).toHaveURL(/\/teams\/construction\/summary$/);
  await expect(page.locator("[data-kpi=range-tokens]")).toBeVisible();
});

test("switching team and range shows what the database says", async ({ page }) => {
  const browserErrors: string[] = [];
  page.on("pageerror", (e) => browserErrors.push(e.message));
  page.on("console", (m) => m.type() === "error" && browserErrors.push(m.text()));
  await login(page, ADMIN, "/teams/design-team/summary");
  await expect(page).toHaveURL(/\/teams\/design-team\/summary/);
  await waitForHydration(page);

  // Balance: total of active packs by SQL; available + used = total.
  // A preset range ends with the team's today.
  const { to: today } = await shownRange(page);
  expect(await kpi(page, "tokens-total")).toBe(activeTotal("design-team", today));
  expect((await kpi(page, "tokens-available")) + (await kpi(page, "tokens-used-active"))).toBe(await kpi(page, "tokens-total"));
  expect(await kpi(page, "tokens-today")).toBe(
    scalar("SELECT COALESCE(SUM(tokens),0) FROM usage_charges WHERE team_id = ? AND usage_date = ?", [teamId("design-team"), today]),
  );
  const thirtyDays = await expectRangeKpisMatchDatabase(page, "design-team");
  expect(thirtyDays.bars.length).toBe(30);

  // Change the range in place (no full page load: the marker survives) and see new values.
  await page.evaluate(() => ((window as any).__same_page = true));
  await page.click('a[data-range="3m"]');
  await expect(page).toHaveURL(/range=3m/);
  await expect(page.locator(".range-label")).toContainText("Past 3 months");
  const threeMonths = await expectRangeKpisMatchDatabase(page, "design-team");
  expect(threeMonths.truth.tokens).toBeGreaterThan(thirtyDays.truth.tokens);
  expect(await page.evaluate(() => (window as any).__same_page)).toBe(true);

  // Switch granularity to days: one bar per day, same total.
  await page.click('a[data-granularity="day"]');
  await expect(page).toHaveURL(/granularity=day/);
  await expect(page.locator(".chart .hit")).toHaveCount(
    Math.round((Date.parse(threeMonths.to) - Date.parse(threeMonths.from)) / 86_400_000) + 1,
  );
  await expectRangeKpisMatchDatabase(page, "design-team");

  // Switch team with the picker; the range is kept.
  await page.click(".team-picker summary");
  await page.click('.team-picker a[data-team="engineering"]');
  await expect(page).toHaveURL(/\/teams\/engineering\/summary\?range=3m/);
  await expect(page.locator(".team-picker summary")).toHaveText("Engineering");
  await expectRangeKpisMatchDatabase(page, "engineering");
  expect(await kpi(page, "tokens-total")).toBe(activeTotal("engineering", today));
  expect(browserErrors, "no hydration or runtime errors in the browser").toEqual([]);
});

test("a custom range from the form, and a bad one explained", async ({ page }) => {
  await login(page, ADMIN, "/teams/engineering/summary");
  await waitForHydration(page);
  await page.fill('input[name="from"]', "2026-05-04");
  await page.fill('input[name="to"]', "2026-06-14");
  await page.click('.custom-range button[type="submit"]');
  await expect(page).toHaveURL(/range=custom&from=2026-05-04&to=2026-06-14/);
  await expect(page.locator(".range-label")).toContainText("Custom (May 4 – Jun 14, 2026)");
  const { bars } = await expectRangeKpisMatchDatabase(page, "engineering");
  expect(bars.length).toBe(6); // six Monday-started weeks

  const response = await page.goto("/teams/engineering/summary?range=custom&from=2026-06-14&to=2026-05-04");
  expect(response?.status()).toBe(400);
  await expect(page.locator("#range-error")).toContainText("is after to");
});

test("hovering a bar shows its dates and exact value", async ({ page }) => {
  await login(page, ADMIN, "/teams/design-team/summary?range=7d");
  await waitForHydration(page);
  const bar = page.locator(".chart .hit").nth(3);
  const value = await bar.getAttribute("data-value");
  const label = await bar.getAttribute("data-label");
  await bar.hover();
  await expect(page.locator(".chart-tooltip")).toHaveText(`${label}: ${Number(value).toLocaleString("en-US")} tokens`);
});

test("a secondary admin sees only their team; other teams are 404", async ({ page }) => {
  await login(page, VIEWER);
  await expect(page).toHaveURL(/\/teams\/design-team\/summary$/);
  await expect(page.locator(".team-picker li")).toHaveCount(1);
  const response = await page.goto("/teams/engineering/summary");
  expect(response?.status()).toBe(404);
  await expect(page.locator("[data-kpi]")).toHaveCount(0);
});

test("logged out, a team page sends you to log in and back", async ({ page }) => {
  await page.goto("/teams/engineering/summary?range=7d");
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.fill('input[name="email"]', ADMIN.email);
  await page.fill('input[name="password"]', ADMIN.password);
  await page.click('button[type="submit"]');
  await expect(page).toHaveURL(/\/teams\/engineering\/summary\?range=7d$/);
  await page.click("form[action=\"/logout\"] button");
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/teams/engineering/summary");
  await expect(page).toHaveURL(/\/login\?next=/);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("login, Summary and range links all work as plain HTML", async ({ page }) => {
    await login(page, ADMIN, "/teams/construction/summary");
    await expect(page).toHaveURL(/\/teams\/construction\/summary$/);
    await expectRangeKpisMatchDatabase(page, "construction");
    await page.click('a[data-range="12m"]');
    await expect(page).toHaveURL(/range=12m/);
    await expect(page.locator(".range-label")).toContainText("Past 12 months");
    const { bars } = await expectRangeKpisMatchDatabase(page, "construction");
    expect(bars.length).toBeGreaterThanOrEqual(12);
    // The balance is coloured without JavaScript too, by the same rule.
    await expect(page.locator("[data-kpi=tokens-available]")).toHaveAttribute("data-tone", await expectedTone(page, "construction"));
  });
});

test("Summary comes whole from the server: after a link, its title and a chart drawn for the card; an ended session loads the login page", async ({
  browser,
}) => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await login(page, ADMIN, "/teams/design-team/products");
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__same_page = true));
  await page.click('a[data-tab="summary"]');
  await expect(page).toHaveURL(/\/teams\/design-team\/summary/);
  await expect(page).toHaveTitle(/^Design Team · Summary · Tokenboard$/);
  // Drawn by the server at the phone's card width, not at the 880 px of a server render.
  const chart = page.locator('[data-chart="tokens-over-time"]');
  await expect(chart).toHaveAttribute("data-fitted", "true");
  expect(Number(await chart.locator(".chart-svg > svg").getAttribute("width"))).toBeLessThan(390);
  expect(await page.evaluate(() => (window as any).__same_page)).toBe(true);
  // The session ended meanwhile: the next range brings the login page, loaded whole.
  await context.clearCookies();
  await page.click('a[data-range="7d"]');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.locator('input[name="email"]')).toBeVisible();
  await context.close();
});
