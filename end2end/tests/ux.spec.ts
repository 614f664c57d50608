// Issue 13: the admin's experience, item by item (numbers as in the issue).
import { expect, Page, test } from "@playwright/test";
import ExcelJS from "exceljs";
import { query, teamId } from "./db";
import { ADMIN, expectedTone, kpi, login, shownRange, waitForHydration } from "./helpers";

const TEAM = "design-team";

/** The rows of a CSV answer (after its BOM), as arrays of cells. */
function parseCsv(text: string): string[][] {
  expect(text.charCodeAt(0), "a UTF-8 BOM first").toBe(0xfeff);
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(cell), (cell = "");
    else if (c === "\n") row.push(cell), rows.push(row), (row = []), (cell = "");
    else if (c !== "\r") cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

async function xlsxRows(body: Buffer): Promise<string[][]> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(body as any);
  const sheet = book.worksheets[1];
  const rows: string[][] = [];
  sheet.eachRow((r) => rows.push((r.values as any[]).slice(1).map((v) => String(v ?? ""))));
  return rows;
}

test("1. every sortable column of both tables exports CSV and Excel in the order on screen", async ({ page }) => {
  for (const [tab, table, column, cell] of [
    ["products", ".products-table", "Product", "td:first-child a"],
    ["users", ".users-table", "Email", "td:nth-child(2)"],
  ] as const) {
    await login(page, ADMIN, `/teams/${TEAM}/${tab}?range=3m`);
    const sorts = await page.locator(`${table} th a[data-sort]`).evaluateAll((as) => as.map((a) => a.getAttribute("data-sort")!));
    expect(sorts.length).toBeGreaterThanOrEqual(5);
    for (const sort of sorts) {
      // Each column in both directions: the second click flips it.
      for (let click = 0; click < 2; click++) {
        const before = page.url();
        await page.click(`${table} th a[data-sort="${sort}"]`);
        await page.waitForURL((url) => url.toString() !== before && url.searchParams.get("sort") === sort);
        const dir = new URL(page.url()).searchParams.get("dir");
        await expect(page.locator(`${table} th[aria-sort] a`)).toHaveAttribute("data-sort", sort);
        await expect(page.locator(`${table} th[aria-sort]`)).toHaveAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
        const shown = (await page.locator(`${table} tbody tr ${cell}`).allTextContents()).map((t) => t.trim());
        expect(shown.length).toBeGreaterThan(0);
        for (const format of ["csv", "xlsx"]) {
          const href = await page.locator(`[data-export$=".${format}"]`).first().getAttribute("href");
          expect(href).toContain(`sort=${sort}`);
          const answer = await page.request.get(href!);
          expect(answer.status(), `${tab} sorted by ${sort}, ${format}`).toBe(200);
          const rows = format === "csv" ? parseCsv(await answer.text()) : await xlsxRows(await answer.body());
          const col = rows[0].indexOf(column);
          expect(rows.slice(1, shown.length + 1).map((r) => r[col]), `${tab} ${sort} ${format}`).toEqual(shown);
        }
      }
    }
  }
  // A detail view's file is named after its product.
  const product = query("SELECT slug FROM products ORDER BY id LIMIT 1")[0].slug;
  await page.goto(`/teams/${TEAM}/products/${product}?range=3m`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-export="product.csv"]')]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^tokenboard_${TEAM}_product-${product}_`));
});

test("2. Summary and Balances show the run-out date and days left, coloured by the alert rule", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/forecast`);
  const runOut = await page.locator("[data-run-out]").getAttribute("data-run-out");
  for (const path of [`/teams/${TEAM}/summary`, "/balances"]) {
    await page.goto(path);
    const scope = path === "/balances" ? page.locator(`.team-balance[data-team="${TEAM}"]`) : page.locator(".today");
    const date = scope.locator('[data-kpi="run-out-date"]');
    await expect(date).toHaveAttribute("data-value", runOut ?? "");
    const expected = await expectedTone(scope, TEAM);
    await expect(scope.locator('[data-kpi="tokens-available"]')).toHaveAttribute("data-tone", expected);
    await expect(date).toHaveAttribute("data-tone", expected);
    await expect(scope.locator(".donut[role=img]")).toHaveAttribute("aria-label", /used, .* available/);
  }
});

test("3. links keep the state that still applies; the team picker closes; a bad range keeps the page", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/users?range=3m&q=a&sort=tokens&dir=asc&granularity=week`);
  await waitForHydration(page);
  // A preset keeps the search, the order and the granularity.
  await page.click('a[data-range="6m"]');
  await expect(page).toHaveURL(/range=6m&granularity=week&q=a&sort=tokens&dir=asc/);
  await expect(page.locator("#user-search")).toHaveValue("a");
  // A name opens the detail; its breadcrumb leads back to the same table.
  await page.locator("[data-user-link]").first().click();
  await expect(page).toHaveURL(/\/users\/\d+\?range=6m&granularity=week&q=a&sort=tokens&dir=asc/);
  await page.click(".breadcrumb a");
  await expect(page).toHaveURL(/\/users\?range=6m&granularity=week&q=a&sort=tokens&dir=asc/);
  // Every tab keeps the range, also from the tabs without one.
  for (const tab of ["forecast", "exports", "imports", "packs", "schedules", "settings", "audit", "summary"]) {
    await page.click(`a[data-tab="${tab}"]`);
    await expect(page).toHaveURL(new RegExp(`/${tab}\\?range=6m&granularity=week$`));
  }
  // The team picker: Escape closes it, so does a click outside; arrows move between teams.
  const picker = page.locator(".team-picker");
  await page.click(".team-picker summary");
  await expect(picker).toHaveAttribute("open", "");
  await page.keyboard.press("ArrowDown");
  await expect(page.locator(".team-picker li a").first()).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(page.locator(".team-picker li a").nth(1)).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(picker).not.toHaveAttribute("open", "");
  await expect(page.locator(".team-picker summary")).toBeFocused();
  await page.click(".team-picker summary");
  await page.click("h1");
  await expect(picker).not.toHaveAttribute("open", "");
  // Picking a team keeps the tab and the range, and closes the picker.
  await page.click('a[data-tab="users"]');
  await page.click(".team-picker summary");
  await page.click('.team-picker a[data-team="engineering"]');
  await expect(page).toHaveURL(/\/teams\/engineering\/users\?range=6m&granularity=week/);
  await expect(picker).not.toHaveAttribute("open", "");

  // From after to: the page stays, the form says what is wrong, 400 all the same.
  const response = await page.goto(`/teams/${TEAM}/products?range=custom&from=2026-06-14&to=2026-05-04`);
  expect(response?.status()).toBe(400);
  await expect(page.locator("#range-error")).toContainText("is after");
  await expect(page.locator('input[name="from"]')).toHaveValue("2026-06-14");
  await expect(page.locator('input[name="from"]')).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator('a[data-tab="products"]')).toHaveAttribute("href", `/teams/${TEAM}/products`);
  await waitForHydration(page);
  await page.fill('input[name="from"]', "2026-05-04");
  await page.fill('input[name="to"]', "2026-06-14");
  await page.click('.custom-range button[type="submit"]');
  await expect(page.locator(".range-label")).toContainText("Custom (May 4 – Jun 14, 2026)");
});

test("5. charts: readable labels, separators, tooltips inside, empty ranges, comparison, keyboard drill-down", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/summary?range=30d`);
  await waitForHydration(page);
  const chart = page.locator('[data-chart="tokens-over-time"]');
  // Date labels every few bars: at least five for 30 days.
  const labels = await chart.locator("svg text").evaluateAll((ts) => ts.map((t) => t.textContent!.trim()));
  expect(labels.filter((t) => /^[A-Z][a-z]{2} \d{1,2}$/.test(t)).length).toBeGreaterThanOrEqual(5);
  // The y axis groups thousands (weeks of the demo team reach thousands of tokens).
  await page.goto(`/teams/${TEAM}/summary?range=3m&granularity=week`);
  const weekly = await chart.locator("svg text").evaluateAll((ts) => ts.map((t) => t.textContent!.trim()));
  expect(weekly.some((t) => /^\d{1,3}(,\d{3})+$/.test(t)), weekly.join(" ")).toBe(true);
  await page.goto(`/teams/${TEAM}/summary?range=30d`);
  await waitForHydration(page);
  // The last bar's tooltip stays inside the chart and groups thousands.
  const last = chart.locator(".hit").last();
  await last.hover();
  const tip = page.locator(".chart-tooltip");
  await expect(tip).toBeVisible();
  const value = Number(await last.getAttribute("data-value"));
  await expect(tip).toContainText(`${value.toLocaleString("en-US")} tokens`);
  const [tipBox, chartBox] = [await tip.boundingBox(), await chart.boundingBox()];
  expect(tipBox!.x + tipBox!.width).toBeLessThanOrEqual(chartBox!.x + chartBox!.width + 1);
  // A text alternative: the numbers as a table.
  await expect(chart.locator("table.chart-data tbody tr")).toHaveCount(30);

  // The previous period as a line, and its value in the tooltip.
  await page.click('a[data-toggle="compare"]');
  await expect(page).toHaveURL(/compare=previous/);
  await expect(chart.locator(".chart-legend .previous")).toBeVisible();
  await expect(chart.locator(".hit[data-previous]")).toHaveCount(30);
  // Stacked by product: a legend of products; the segments add up to the range's
  // total, each bucket's to its bar, and a segment opens its product.
  await page.click('a[data-toggle="stack"]');
  await expect(page).toHaveURL(/stack=product/);
  await expect(chart.locator(".chart-legend li[data-product]").first()).toBeVisible();
  const segments = await chart.locator(".segment").evaluateAll((ss) =>
    ss.map((s) => ({ value: Number(s.getAttribute("data-value")), label: s.getAttribute("data-label")! })),
  );
  expect(segments.length).toBeGreaterThan(30);
  expect(segments.reduce((a, s) => a + s.value, 0)).toBe(await kpi(page, "range-tokens"));
  const firstDay = await chart.locator(".hit").first().getAttribute("data-label");
  const firstBucket = Number(await chart.locator(".hit").first().getAttribute("data-value"));
  expect(segments.filter((s) => s.label.endsWith(` · ${firstDay}`)).reduce((a, s) => a + s.value, 0)).toBe(firstBucket);
  const segmentLink = await chart.locator("a:has(.segment)").first().getAttribute("href");
  expect(segmentLink).toMatch(new RegExp(`^/teams/${TEAM}/products/[a-z0-9-]+\\?range=30d`));
  // Switched off again from a URL without a range, the option really goes.
  await page.goto(`/teams/${TEAM}/summary?compare=previous`);
  await waitForHydration(page);
  await page.click('a[data-toggle="compare"]');
  await expect(chart.locator(".chart-legend")).toHaveCount(0);
  await page.goto(`/teams/${TEAM}/summary?range=30d&stack=product`);
  await waitForHydration(page);

  // Keyboard: a bar takes the focus, shows its tooltip, and Enter opens its days.
  const firstBar = chart.locator("a").first();
  await firstBar.focus();
  await expect(tip).toBeVisible();
  const start = await firstBar.locator(".hit").getAttribute("data-start");
  const end = await firstBar.locator(".hit").getAttribute("data-end");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`range=custom&from=${start}&to=${end}`));
  await expect(page.locator(".range-label")).toHaveAttribute("data-from", start!);

  // The previous 12 months are not all in the data: "n/a", never a huge percentage.
  const first = query("SELECT MIN(usage_date) AS d FROM usage_charges WHERE team_id = ?", [teamId(TEAM)])[0].d;
  await page.goto(`/teams/${TEAM}/summary?range=12m`);
  const { from } = await shownRange(page);
  const days = Math.round((Date.parse(from) - Date.parse(first)) / 86_400_000);
  expect(days, "the demo's data starts less than a year before the range").toBeLessThan(366);
  await expect(page.locator('[data-kpi="range-tokens"] .kpi-note')).toContainText("n/a");
  // A shorter range is covered: a real percentage.
  await page.goto(`/teams/${TEAM}/summary?range=30d`);
  await expect(page.locator('[data-kpi="range-tokens"] .kpi-note')).toContainText("% vs previous 30 days");
  // A range without usage says so.
  await page.goto(`/teams/${TEAM}/summary?range=custom&from=2020-01-01&to=2020-01-31`);
  await expect(page.locator('[data-chart="tokens-over-time"] .chart-empty')).toHaveText("No usage in this range");
});

test("6. schedules edit in place and confirm a create; destructive actions ask first", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/schedules`);
  await waitForHydration(page);
  const before = query("SELECT COUNT(*) AS n FROM report_schedules WHERE team_id = ?", [teamId(TEAM)])[0].n;
  await page.selectOption("#schedule-report", "by-product");
  await page.fill("#schedule-start", "2027-02-01");
  await page.fill("#schedule-recipients", ADMIN.email);
  await page.click('.schedule-form button[type="submit"]');
  await expect(page.getByTestId("schedule-saved")).toContainText("Schedule created");
  await expect(page.locator("#schedule-recipients")).toHaveValue("");
  expect(query("SELECT COUNT(*) AS n FROM report_schedules WHERE team_id = ?", [teamId(TEAM)])[0].n).toBe(before + 1);
  const id = query("SELECT MAX(id) AS id FROM report_schedules WHERE team_id = ?", [teamId(TEAM)])[0].id;

  // Edit opens the form with the schedule, in place.
  await page.evaluate(() => ((window as any).__same_page = true));
  await page.click(`tr[data-key="${id}"] a.chip`);
  await expect(page.locator(".schedule-form h3, h3").filter({ hasText: "Edit schedule" })).toBeVisible();
  await expect(page.locator("#schedule-start")).toHaveValue("2027-02-01");
  await page.fill("#schedule-start", "2027-03-01");
  await page.click('.schedule-form button[type="submit"]');
  await expect(page.getByTestId("schedule-saved")).toContainText("Schedule saved");
  expect(await page.evaluate(() => (window as any).__same_page)).toBe(true);
  expect(query("SELECT start_on FROM report_schedules WHERE id = ?", [id])[0].start_on).toBe("2027-03-01");

  // Delete asks first; nothing happens until the question is answered.
  await page.click(`tr[data-key="${id}"] [data-confirm="Delete…"]`);
  await expect(page.locator(`tr[data-key="${id}"] .confirm-panel`)).toContainText("Delete the By product schedule");
  await page.keyboard.press("Escape");
  await expect(page.locator(`tr[data-key="${id}"] .confirm-panel`)).toBeHidden();
  expect(query("SELECT COUNT(*) AS n FROM report_schedules WHERE id = ?", [id])[0].n).toBe(1);
  await page.click(`tr[data-key="${id}"] [data-confirm="Delete…"]`);
  await page.click(`tr[data-key="${id}"] button[data-command="delete"]`);
  await expect(page.locator(`tr[data-key="${id}"]`)).toHaveCount(0);
});

test("7. a failed reload keeps the page with Retry; a slow one dims it", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/products?range=30d`);
  await waitForHydration(page);
  // Slow: the old content stays (with its own range label), dimmed under a bar.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/api/products", async (route) => {
    await held;
    await route.continue();
  });
  await page.click('a[data-range="12m"]');
  await expect(page.locator(".reloading")).toBeAttached();
  await expect(page.locator(".range-label")).toContainText("Past 30 days");
  release();
  await expect(page.locator(".range-label")).toContainText("Past 12 months");
  await expect(page.locator(".reloading")).toHaveCount(0);
  await page.unroute("**/api/products");

  // The network fails: the page stays, a message and Retry, never a raw TypeError.
  await page.route("**/api/products", (route) => route.abort("internetdisconnected"));
  await page.click('a[data-range="3m"]');
  const banner = page.locator("[data-reload-failed]");
  await expect(banner).toContainText("could not be reached");
  await expect(page.locator("body")).not.toContainText("TypeError");
  await expect(page.locator(".products-table")).toBeVisible();
  await page.unroute("**/api/products");
  await banner.getByRole("button", { name: "Retry" }).click();
  await expect(page.locator(".range-label")).toContainText("Past 3 months");
  await expect(banner).toHaveCount(0);
});

test("9. build files are immutable under hashed names; pages are never stored", async ({ page }) => {
  const response = await page.goto("/login");
  expect(response!.headers()["cache-control"]).toBe("no-store");
  const assets = await page.evaluate(() =>
    [...document.querySelectorAll('link[rel=stylesheet], link[rel=modulepreload], link[rel=preload], script[src]')]
      .map((e) => e.getAttribute("href") ?? e.getAttribute("src")!)
      .filter((u) => u.startsWith("/pkg/")),
  );
  expect(assets.length).toBeGreaterThanOrEqual(2);
  // The app's wasm is split by route: the page preloads its own route's chunk and the loader of chunks.
  expect(assets.some((a) => a.startsWith("/pkg/split___login_route_view_")), "the login route's chunk").toBe(true);
  expect(assets.some((a) => a.startsWith("/pkg/split___summary_route_view_")), "no other route's chunk").toBe(false);
  expect(assets.some((a) => a.startsWith("/pkg/__wasm_split.")), "the chunk loader").toBe(true);
  for (const asset of assets) {
    // MD5 in base64url: 22 characters.
    expect(asset, "content-hashed name").toMatch(/^\/pkg\/[a-z0-9_]+\.[0-9a-zA-Z_-]{22}\.(js|wasm|css)$/);
    const answer = await page.request.get(asset, { headers: { "accept-encoding": "br, gzip" } });
    expect(answer.status()).toBe(200);
    expect(answer.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
  }
});

test("a page whose code is gone (a deploy removed it) reloads and opens", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/summary`);
  await waitForHydration(page);
  // The first request for the By user page's chunk fails, as one for a file of the previous build would.
  let requests = 0;
  await page.route(/\/pkg\/split___users_route_view_/, (route) => (++requests === 1 ? route.abort() : route.continue()));
  await page.getByRole("link", { name: "By user", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/teams/${TEAM}/users`));
  await expect(page.locator("h1")).toContainText("By user");
  await waitForHydration(page);
  expect(requests, "the chunk, refused, then fetched again after the reload").toBeGreaterThanOrEqual(2);
});

test("a tab of the previous build reloads instead of misreading a newer server's answer", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/products?range=30d`);
  await waitForHydration(page);
  // The first answer comes as from another build: its wire version differs.
  let answers = 0;
  await page.route("**/api/products", async (route) => {
    if (++answers > 1) return route.continue();
    const response = await route.fetch();
    const body = await response.body();
    body[0] = body[0] === 0x30 ? 0x31 : 0x30;
    await route.fulfill({ response, body });
  });
  const reload = page.waitForRequest((r) => r.isNavigationRequest() && r.url().includes("range=12m"));
  await page.click('a[data-range="12m"]');
  await reload;
  await waitForHydration(page);
  await expect(page.locator(".range-label")).toContainText("Past 12 months");
  await expect(page.locator("[data-reload-failed]")).toHaveCount(0);
  expect(answers, "the refused answer; the reloaded page renders on the server").toBe(1);
});

test("10. the ⓘ beside a KPI explains it on keyboard focus", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/summary`);
  const help = page.locator('[data-kpi="days-left"] .help-button');
  await help.focus();
  await expect(page.locator('[data-kpi="days-left"] .help-text')).toBeVisible();
  await expect(page.locator('[data-kpi="days-left"] .help-text')).toContainText("run-out");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("6. a new API key is shown once; revoking asks first", async ({ page }) => {
    await login(page, ADMIN, `/teams/${TEAM}/settings`);
    await page.fill("#api-key-label", "no-js key");
    await page.click('.api-key-form button[type="submit"]');
    await expect(page).toHaveURL(new RegExp(`/teams/${TEAM}/settings`));
    const key = (await page.getByTestId("new-api-key").textContent())!.trim();
    expect(key).toMatch(/^tb_/);
    await page.reload();
    await expect(page.getByTestId("new-api-key")).toHaveCount(0);
    const row = page.locator('.api-keys-table tr[data-revoked="false"]').filter({ hasText: "no-js key" });
    await row.locator('[data-confirm="Revoke…"]').click();
    await expect(row.locator(".confirm-panel")).toContainText("Scripts using it stop working");
    await row.locator('button[data-command="revoke"]').click();
    await expect(page.locator(".api-keys-table tr").filter({ hasText: "no-js key" })).toHaveAttribute("data-revoked", "true");
  });
});
