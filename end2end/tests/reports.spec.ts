import { expect, Page, test } from "@playwright/test";
import { query, rangeTotals, scalar, teamId } from "./db";
import { ADMIN, login, shownRange, waitForHydration } from "./helpers";

const TEAM = "design-team";

/** Values of `data-metric` cells of a table, by row key. */
async function column(page: Page, table: string, metric: string): Promise<Map<string, string>> {
  const pairs = await page.locator(`${table} tbody tr`).evaluateAll(
    (rows, metric) =>
      rows.map((r) => [r.getAttribute("data-key")!, r.querySelector(`[data-metric="${metric}"]`)?.getAttribute("data-value") ?? ""]),
    metric,
  );
  return new Map(pairs as [string, string][]);
}

test("By product reconciles with raw charges and drills down to versions", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/products?range=3m`);
  await waitForHydration(page);
  const { from, to } = await shownRange(page);
  const id = teamId(TEAM);

  const tokens = await column(page, ".products-table", "tokens");
  const users = await column(page, ".products-table", "users");
  const truth = query(
    `SELECT p.slug AS slug, SUM(c.tokens) AS tokens, COUNT(DISTINCT c.user_id) AS users
     FROM usage_charges c JOIN products p ON p.id = c.product_id
     WHERE c.team_id = ? AND c.usage_date BETWEEN ? AND ? GROUP BY p.slug`,
    [id, from, to],
  );
  expect(tokens.size).toBe(truth.length);
  for (const row of truth) {
    expect(Number(tokens.get(row.slug)), row.slug).toBe(row.tokens);
    expect(Number(users.get(row.slug)), row.slug).toBe(row.users);
  }
  const sum = [...tokens.values()].reduce((a, b) => a + Number(b), 0);
  expect(sum).toBe(rangeTotals(TEAM, from, to).tokens);
  expect(Number(await page.locator(".products-table").getAttribute("data-total-tokens"))).toBe(sum);

  // The chart's bars carry the same numbers as the table.
  const top = truth.sort((a, b) => b.tokens - a.tokens)[0];
  await expect(page.locator(`[data-chart="tokens-by-product"] .hit[data-key="${top.slug}"]`)).toHaveAttribute(
    "data-value",
    String(top.tokens),
  );

  // View details of the top product: its versions add up to its tokens.
  await page.click(`.products-table tr[data-key="${top.slug}"] a.details`);
  await expect(page).toHaveURL(new RegExp(`/teams/${TEAM}/products/${top.slug}\\?range=3m`));
  await expect(page.locator(".product-detail h2")).toBeVisible();
  const versions = await column(page, ".versions-table", "tokens");
  const versionTruth = query(
    `SELECT c.product_version AS version, SUM(c.tokens) AS tokens FROM usage_charges c JOIN products p ON p.id = c.product_id
     WHERE c.team_id = ? AND p.slug = ? AND c.usage_date BETWEEN ? AND ? GROUP BY c.product_version`,
    [id, top.slug, from, to],
  );
  expect(versions.size).toBe(versionTruth.length);
  for (const v of versionTruth) expect(Number(versions.get(v.version)), v.version).toBe(v.tokens);
  const overTime = await page.locator('[data-chart="tokens-over-time"] .hit').evaluateAll((els) =>
    els.reduce((a, e) => a + Number(e.getAttribute("data-value")), 0),
  );
  expect(overTime).toBe(top.tokens);
});

test("clicking a product bar in the chart opens that product", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/products?range=30d`);
  const bar = page.locator('[data-chart="tokens-by-product"] a').first();
  const key = await bar.locator(".hit").getAttribute("data-key");
  await bar.locator(".hit").click();
  await expect(page).toHaveURL(new RegExp(`/teams/${TEAM}/products/${key}`));
});

test("a user's name opens their detail: weekly days per product and versions as the database has them", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/users?range=3m`);
  await waitForHydration(page);
  const { from, to } = await shownRange(page);
  const firstRow = page.locator(".users-table tbody tr").first();
  const userId = Number(await firstRow.getAttribute("data-key"));
  await firstRow.locator("a[data-user-link]").click();
  await expect(page).toHaveURL(new RegExp(`/teams/${TEAM}/users/${userId}\\?range=3m`));
  await expect(page.locator(".user-detail")).toHaveAttribute("data-user", String(userId));

  const id = teamId(TEAM);
  const perProduct = query(
    `SELECT p.slug AS slug, COUNT(DISTINCT c.usage_date) AS days FROM usage_charges c JOIN products p ON p.id = c.product_id
     WHERE c.team_id = ? AND c.user_id = ? AND c.usage_date BETWEEN ? AND ? GROUP BY p.slug`,
    [id, userId, from, to],
  );
  await expect(page.locator(".product-weeks")).toHaveCount(perProduct.length);
  for (const p of perProduct) {
    const days = await page
      .locator(`.product-weeks[data-product="${p.slug}"] .hit`)
      .evaluateAll((els) => els.reduce((a, e) => a + Number(e.getAttribute("data-value")), 0));
    expect(days, p.slug).toBe(p.days);
  }
  const versions = query(
    `SELECT p.slug || '@' || c.product_version AS k, COUNT(*) AS n FROM usage_charges c JOIN products p ON p.id = c.product_id
     WHERE c.team_id = ? AND c.user_id = ? AND c.usage_date BETWEEN ? AND ? GROUP BY k`,
    [id, userId, from, to],
  );
  await expect(page.locator('[data-chart="versions"] .hit')).toHaveCount(versions.length);
  for (const v of versions) {
    await expect(page.locator(`[data-chart="versions"] .hit[data-key="${v.k}"]`)).toHaveAttribute("data-value", String(v.n));
  }
  const logRows = scalar(
    "SELECT COUNT(*) FROM usage_charges WHERE team_id = ? AND user_id = ? AND usage_date BETWEEN ? AND ?",
    [id, userId, from, to],
  );
  await expect(page.locator(".charge-log tbody tr")).toHaveCount(logRows);

  // Hovering a weekly bar shows its dates and value.
  const bar = page.locator(".product-weeks .hit").first();
  await bar.hover();
  await expect(page.locator(".chart-tooltip")).toHaveText(
    `${await bar.getAttribute("data-label")}: ${await bar.getAttribute("data-value")} days`,
  );
});

test("the user table sorts, pages and searches on the server", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/users?range=12m`);
  await waitForHydration(page);
  const { from, to } = await shownRange(page);
  const total = rangeTotals(TEAM, from, to).users;
  await expect(page.locator(".table-count")).toHaveAttribute("data-total-rows", String(total));
  await expect(page.locator(".users-table tbody tr")).toHaveCount(50);

  const tokens = async () =>
    page.locator('.users-table tbody td[data-metric="tokens"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-value"))));
  const first = await tokens();
  expect(first).toEqual([...first].sort((a, b) => b - a));

  await page.click('a[data-sort="tokens"]'); // flip to ascending
  await expect(page).toHaveURL(/sort=tokens&dir=asc/);
  await expect(page.locator('th[aria-sort="ascending"] a[data-sort="tokens"]')).toBeVisible();
  const ascending = await tokens();
  expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
  expect(ascending[0]).toBeLessThanOrEqual(first[first.length - 1]);

  await page.click('a[rel="next"]');
  await expect(page).toHaveURL(/page=2/);
  await expect(page.locator(".table-count")).toContainText("page 2 of");
  const page2 = await tokens();
  expect(page2[0]).toBeGreaterThanOrEqual(ascending[ascending.length - 1]);

  const someone = query(
    "SELECT email FROM team_users WHERE team_id = ? AND id IN (SELECT user_id FROM usage_charges WHERE team_id = ? AND usage_date BETWEEN ? AND ?) LIMIT 1",
    [teamId(TEAM), teamId(TEAM), from, to],
  )[0].email;
  await page.fill('.user-search input[name="q"]', someone.toUpperCase());
  await page.click('.user-search button[type="submit"]');
  await expect(page.locator(".users-table tbody tr")).toHaveCount(1);
  await expect(page.locator(".users-table tbody tr td").nth(1)).toHaveText(someone);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("every report page renders its data as HTML", async ({ page }) => {
    await login(page, ADMIN, `/teams/${TEAM}/products?range=30d`);
    await expect(page.locator(".products-table tbody tr").first()).toBeVisible();
    const product = await page.locator(".products-table tbody tr").first().getAttribute("data-key");
    await page.goto(`/teams/${TEAM}/products/${product}?range=30d`);
    await expect(page.locator(".versions-table tbody tr").first()).toBeVisible();
    await page.goto(`/teams/${TEAM}/users?range=30d&sort=name&dir=asc`);
    const names = await page.locator(".users-table tbody tr td:first-child").allTextContents();
    expect(names.length).toBeGreaterThan(1);
    const user = await page.locator(".users-table tbody tr").first().getAttribute("data-key");
    await page.click(`.users-table tbody tr[data-key="${user}"] a`);
    await expect(page.locator(".charge-log tbody tr").first()).toBeVisible();
    const response = await page.goto(`/teams/${TEAM}/users/999999`);
    expect(response?.status()).toBe(404);
    const other = await page.goto(`/teams/${TEAM}/products/no-such-product`);
    expect(other?.status()).toBe(404);
    await page.goto("/balances");
    await expect(page.locator(".team-balance .packs-table tbody tr").first()).toBeVisible();
    await page.goto(`/teams/${TEAM}/forecast`);
    await expect(page.locator('.purchase-table td[data-metric="purchase"]')).toHaveCount(3);
  });
});

test("Balances lists every team of the admin with packs and totals from the database", async ({ page }) => {
  await login(page, ADMIN, "/balances");
  await expect(page.locator(".team-balance")).toHaveCount(3);
  for (const slug of ["construction", "design-team", "engineering"]) {
    const section = page.locator(`.team-balance[data-team="${slug}"]`);
    const packs = scalar("SELECT COUNT(*) FROM token_packs WHERE team_id = ? AND voided_at IS NULL", [teamId(slug)]);
    await expect(section.locator(".packs-table tbody tr")).toHaveCount(packs);
    const total = Number(await section.locator('[data-kpi="tokens-total"]').getAttribute("data-value"));
    const available = Number(await section.locator('[data-kpi="tokens-available"]').getAttribute("data-value"));
    const used = Number(await section.locator('[data-kpi="tokens-used-active"]').getAttribute("data-value"));
    expect(available + used).toBe(total);
    // Active packs' remaining, less any overdraft, is what is available.
    const overdraft = Number(await section.getAttribute("data-overdraft"));
    const remaining = await section
      .locator('.packs-table tbody tr:not(.expired) td[data-metric="remaining"]')
      .evaluateAll((els) => els.reduce((a, e) => a + Number(e.getAttribute("data-value")), 0));
    expect(remaining - overdraft).toBe(available);
  }
  // The low-balance demo team is shown in red.
  await expect(page.locator('.team-balance[data-team="construction"] [data-kpi="tokens-available"]')).toHaveAttribute(
    "data-tone",
    "critical",
  );
});

test("Forecast shows the burn rate the database gives", async ({ page }) => {
  await login(page, ADMIN, "/teams/engineering/forecast");
  await expect(page.locator('[data-kpi="burn-30"]')).toBeVisible();
  // Today in the team's zone: the Summary of 7 days ends with it.
  await page.goto("/teams/engineering/summary?range=30d");
  const { from, to } = await shownRange(page);
  const used = scalar("SELECT COALESCE(SUM(tokens), 0) FROM usage_charges WHERE team_id = ? AND usage_date BETWEEN ? AND ?", [
    teamId("engineering"),
    from,
    to,
  ]);
  await page.goto("/teams/engineering/forecast");
  expect(Number(await page.locator('[data-kpi="burn-30"]').getAttribute("data-value"))).toBe(Math.round(used / 30));
  const purchases = await page.locator('.purchase-table td[data-metric="purchase"]').evaluateAll((els) =>
    els.map((e) => Number(e.getAttribute("data-value"))),
  );
  expect(purchases.length).toBe(3);
  expect(purchases[0]).toBeLessThanOrEqual(purchases[1]);
  expect(purchases[1]).toBeLessThanOrEqual(purchases[2]);
});
