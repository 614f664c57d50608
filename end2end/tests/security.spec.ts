// Attacks where the browser is the point (issue 10): a page of the same
// site on another port posting with the admin's cookie, and names from an
// imported file that try to become markup in the page's <title>.
import { expect, test } from "@playwright/test";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { query, scalar } from "./db";
import { ADMIN, login, waitForHydration } from "./helpers";
import { baseURL } from "../playwright.config";

const TEAM = "construction";

/** A second web server on this host (same site, other port), as an attacker's page would be. */
async function siblingSite(page: string) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    res.writeHead(200, { "content-type": "text/html" }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, hits, close: () => new Promise((resolve) => server.close(resolve)) };
}

test("A page on another port of this host cannot post with the admin's cookie", async ({ page }) => {
  await login(page, ADMIN, `/teams/${TEAM}/settings`);
  await waitForHydration(page);
  const forged = `<!doctype html><title>win a prize</title>
    <form id="key" method="post" action="${baseURL}/api/api_key_create">
      <input name="team" value="${TEAM}"><input name="label" value="csrf-probe"><button>go</button>
    </form>
    <form id="out" method="post" action="${baseURL}/logout"><button>out</button></form>`;
  const sibling = await siblingSite(forged);
  try {
    for (const form of ["#key", "#out"]) {
      await page.goto(sibling.origin);
      const answer = page.waitForResponse((r) => r.url().startsWith(baseURL) && r.request().method() === "POST");
      await page.click(`${form} button`);
      expect((await answer).status(), `${form} is refused`).toBe(403);
    }
  } finally {
    await sibling.close();
  }
  expect(scalar("SELECT COUNT(*) FROM api_keys WHERE label = 'csrf-probe'")).toBe(0);

  // The session survived the forged logout, and the app's own requests still pass.
  await page.goto(`/teams/${TEAM}/settings`);
  await waitForHydration(page);
  await page.fill("#api-key-label", "e2e same-origin");
  await page.click('.api-key-form button[type="submit"]');
  await expect(page.getByTestId("new-api-key")).toHaveText(/^tb_/);
  expect(scalar("SELECT COUNT(*) FROM api_keys WHERE label = 'e2e same-origin'")).toBe(1);
});

test("Names with markup from an imported file stay text in the title and the page", async ({ page, request }) => {
  const listener = await siblingSite("pwned");
  try {
    await login(page, ADMIN, `/teams/${TEAM}/settings`);
    await waitForHydration(page);
    await page.fill("#api-key-label", "e2e hostile import");
    await page.click('.api-key-form button[type="submit"]');
    const key = (await page.getByTestId("new-api-key").textContent())!.trim();

    const refresh = `</title><meta http-equiv="refresh" content="0;url=${listener.origin}/pwned">`;
    const day = query("SELECT MAX(usage_date) AS d FROM usage_charges")[0].d as string;
    const quoted = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const csv =
      "email,first name,last name,product,usage date,tokens used\n" +
      `mallory@hostile.example,${quoted(refresh)},${quoted("<script>alert(1)</script>")},${quoted(`Studio ${refresh}`)},${day},7\n`;
    const imported = await request.post(`/api/v1/teams/${TEAM}/usage`, {
      headers: { authorization: `Bearer ${key}`, "content-type": "text/csv" },
      data: csv,
    });
    expect(imported.status(), await imported.text()).toBe(200);

    const user = scalar("SELECT id FROM team_users WHERE email = 'mallory@hostile.example'");
    const product = query("SELECT slug FROM products WHERE name LIKE 'Studio %'")[0].slug as string;
    for (const path of [`/teams/${TEAM}/users/${user}?range=12m`, `/teams/${TEAM}/products/${product}?range=12m`]) {
      await page.goto(path);
      await waitForHydration(page);
      await page.waitForTimeout(1500); // a meta refresh of 0 s would have fired by now
      expect(page.url()).toBe(`${baseURL}${path}`);
      expect(await page.title()).toContain(refresh); // the browser shows the text as written
      expect(await page.locator("head meta[http-equiv]").count()).toBe(0);
    }
    expect(listener.hits).toEqual([]);
  } finally {
    await listener.close();
  }
});
