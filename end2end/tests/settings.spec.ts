import { expect, test } from "@playwright/test";
import { query, teamId } from "./db";
import { ADMIN, VIEWER, login, waitForHydration } from "./helpers";

const TEAM = "design-team";

async function setPersonalData(page: import("@playwright/test").Page, value: "on" | "off") {
  await page.goto(`/teams/${TEAM}/settings`);
  await waitForHydration(page);
  await page.selectOption("#settings-personal-data", value);
  await page.click('.settings-groups button[type="submit"]');
  await expect(page.getByTestId("settings-saved")).toContainText(`personal data ${value}`);
}

test("A primary admin turns personal data off: By user shows hashed ids, and it is audited", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/users?range=3m`);
  const emailCells = page.locator(".users-table tbody tr td:nth-child(2)");
  const realEmails = await emailCells.allTextContents();
  expect(realEmails.length).toBeGreaterThan(0);
  expect(realEmails.every((e) => e.includes("@"))).toBe(true);

  try {
    await setPersonalData(page, "off");
    expect(query("SELECT personal_data FROM teams WHERE slug = ?", [TEAM])[0].personal_data).toBe(0);

    await page.goto(`/teams/${TEAM}/users?range=3m`);
    const shown = await emailCells.allTextContents();
    expect(shown.length).toBe(realEmails.length);
    for (const cell of shown) expect(cell.trim()).toMatch(/^u-[0-9a-f]{16}$/);
    const html = await page.content();
    for (const email of realEmails.slice(0, 10)) expect(html).not.toContain(email.trim());

    await page.goto(`/teams/${TEAM}/audit`);
    await expect(page.locator('.audit-table tbody tr[data-action="personal-data"]').first()).toContainText(
      "personal data off",
    );
    const audited = query(
      "SELECT actor FROM audit_log WHERE team_id = ? AND action = 'personal-data' ORDER BY id DESC",
      [teamId(TEAM)],
    )[0];
    expect(audited.actor).toBe(ADMIN.email);
  } finally {
    await setPersonalData(page, "on");
  }
  await page.goto(`/teams/${TEAM}/users?range=3m`);
  expect(await emailCells.allTextContents()).toEqual(realEmails);
});

test("A secondary admin has no Settings tab and cannot open settings", async ({ page }) => {
  await login(page, VIEWER);
  await page.waitForURL(/\/teams\/[^/]+\/summary/);
  const slug = page.url().split("/teams/")[1].split("/")[0];
  await expect(page.locator('[data-tab="settings"]')).toHaveCount(0);
  const response = await page.goto(`/teams/${slug}/settings`);
  expect(response!.status()).toBeGreaterThanOrEqual(400);
  await expect(page.locator("#settings-personal-data")).toHaveCount(0);
  await expect(page.locator("body")).toContainText("primary");
});

test("Log out everywhere ends the sessions of other browsers too", async ({ browser }) => {
  const [laptop, phone] = [await browser.newContext(), await browser.newContext()];
  const [a, b] = [await laptop.newPage(), await phone.newPage()];
  await login(a, ADMIN, `/teams/${TEAM}/summary`);
  await login(b, ADMIN, `/teams/${TEAM}/summary`);
  await expect(b).toHaveURL(new RegExp(`/teams/${TEAM}/summary`));
  // It asks first.
  await a.click('.logout-everywhere [data-confirm="Log out everywhere"]');
  await expect(a.locator(".logout-everywhere .confirm-panel")).toContainText("every device");
  await a.click(".logout-everywhere button");
  await expect(a).toHaveURL(/\/login$/);
  await b.goto(`/teams/${TEAM}/summary`);
  await expect(b).toHaveURL(/\/login\?next=/);
  await laptop.close();
  await phone.close();
});
