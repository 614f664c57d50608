import { expect, Locator, Page } from "@playwright/test";
import { query } from "./db";

export const ADMIN = { email: "admin@demo.tokenboard", password: "tokenboard-demo" };
export const VIEWER = { email: "viewer@demo.tokenboard", password: "tokenboard-demo" };

export async function login(page: Page, who = ADMIN, next = "/") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.fill('input[name="email"]', who.email);
  await page.fill('input[name="password"]', who.password);
  await page.click('button[type="submit"]');
}

export async function kpi(page: Page, name: string): Promise<number> {
  const value = await page.locator(`[data-kpi="${name}"]`).getAttribute("data-value");
  expect(value, `KPI ${name}`).not.toBeNull();
  return Number(value);
}

export async function shownRange(page: Page): Promise<{ from: string; to: string }> {
  const label = page.locator(".range-label");
  return { from: (await label.getAttribute("data-from"))!, to: (await label.getAttribute("data-to"))! };
}

/**
 * Resolves once the wasm app has hydrated (the tooltip handler is live) and
 * every chart shows the SVG the server drew at its card's width.
 */
export async function waitForHydration(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 30_000 });
  await page.waitForFunction(() => document.querySelectorAll("figure.chart:not([data-fitted])").length === 0, null, {
    timeout: 30_000,
  });
}

/**
 * The colour the balance tiles of `scope` must have, by the rule of the
 * issue, from the tiles' own numbers and the team's thresholds in the
 * database: red at a threshold, without packs, overdrawn or within 30 days
 * of run-out; amber below 20%; green otherwise.
 */
export async function expectedTone(scope: Locator | Page, slug: string): Promise<string> {
  const value = async (name: string) => (await scope.locator(`[data-kpi="${name}"]`).getAttribute("data-value"))!;
  const [available, total, daysLeft] = [Number(await value("tokens-available")), Number(await value("tokens-total")), await value("days-left")];
  const text = String(query("SELECT low_balance_percents AS p FROM teams WHERE slug = ?", [slug])[0].p);
  const percents = text.split(",").map((p) => p.trim()).filter((p) => p !== "").map(Number);
  const critical =
    percents.some((p) => available * 100 <= total * p) || total <= 0 || available < 0 || (daysLeft !== "" && Number(daysLeft) <= 30);
  return critical ? "critical" : available * 100 < total * 20 ? "low" : "healthy";
}
