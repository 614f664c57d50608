import { expect, test } from "@playwright/test";
import { activeTotal, query, scalar, teamId } from "./db";
import { ADMIN, kpi, login, waitForHydration } from "./helpers";

const TEAM = "engineering";

test("a pack added on the Packs page changes Balances by its tokens", async ({ page }) => {
  await login(page, ADMIN, "/balances");
  const section = page.locator(`.team-balance[data-team="${TEAM}"]`);
  const before = Number(await section.locator('[data-kpi="tokens-total"]').getAttribute("data-value"));

  await page.goto(`/teams/${TEAM}/packs`);
  await waitForHydration(page);
  const today = await page.locator("#new-pack-purchased").inputValue();
  await page.fill("#new-pack-tokens", "1500");
  await page.fill("#new-pack-order", "PO-E2E-1");
  await page.click(`button:has-text("Add pack")`);
  await expect(page.locator("[data-done]")).toContainText("1500 tokens");
  const pack = query("SELECT * FROM token_packs WHERE team_id = ? ORDER BY id DESC LIMIT 1", [teamId(TEAM)])[0];
  expect([pack.tokens, pack.order_ref, pack.purchased_on]).toEqual([1500, "PO-E2E-1", today]);
  await expect(page.locator(`.packs-table tr[data-key="${pack.id}"]`)).toContainText("PO-E2E-1");
  expect(scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'pack-added'")).toBeGreaterThan(0);

  await page.goto("/balances");
  const after = Number(await section.locator('[data-kpi="tokens-total"]').getAttribute("data-value"));
  expect(after).toBe(before + 1500);
  expect(after).toBe(activeTotal(TEAM, today));
});

test("Summary says how fresh its numbers are", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/summary`);
  const line = page.locator(".freshness");
  const newest = query("SELECT MAX(usage_date) AS d FROM daily_usage WHERE team_id = ?", [teamId(TEAM)])[0].d;
  await expect(line).toHaveAttribute("data-through", newest);
  await expect(line).toContainText("Data through");
  const last = query(
    "SELECT actor FROM imports WHERE team_id = ? AND status = 'done' AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
    [teamId(TEAM)],
  )[0];
  if (last) await expect(line).toContainText(`by ${last.actor}`);
  expect(await kpi(page, "tokens-total")).toBeGreaterThan(0);
});
