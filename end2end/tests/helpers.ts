import { expect, Page } from "@playwright/test";

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

/** Resolves once the wasm app has hydrated (the tooltip handler is live). */
export async function waitForHydration(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 30_000 });
}
