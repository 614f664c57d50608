// Ground truth for the tests: hand-written SQL straight against the SQLite
// file the server uses, through Python's sqlite3 (no native npm module needed).
import { execFileSync } from "node:child_process";
import path from "node:path";

export const dbPath = path.resolve(__dirname, "../../target/e2e/e2e.db");

export function query(sql: string, params: (string | number)[] = []): any[] {
  const script =
    "import json,sqlite3,sys\n" +
    "c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\n" +
    "c.row_factory=sqlite3.Row\n" +
    "print(json.dumps([dict(r) for r in c.execute(sys.argv[2],json.loads(sys.argv[3]))]))";
  const out = execFileSync("python3", ["-c", script, dbPath, sql, JSON.stringify(params)]);
  return JSON.parse(out.toString());
}

export function scalar(sql: string, params: (string | number)[] = []): number {
  const row = query(sql, params)[0];
  return Number(Object.values(row)[0] ?? 0);
}

export function teamId(slug: string): number {
  return scalar("SELECT id FROM teams WHERE slug = ?", [slug]);
}

/** Range totals over raw charges, the way an analyst would write them. */
export function rangeTotals(slug: string, from: string, to: string) {
  const id = teamId(slug);
  const where = "FROM usage_charges WHERE team_id = ? AND usage_date BETWEEN ? AND ?";
  return {
    tokens: scalar(`SELECT COALESCE(SUM(tokens), 0) ${where}`, [id, from, to]),
    users: scalar(`SELECT COUNT(DISTINCT user_id) ${where}`, [id, from, to]),
    products: scalar(`SELECT COUNT(DISTINCT product_id) ${where}`, [id, from, to]),
  };
}

/** Tokens of packs active on `today` (purchased on or before, expiring after). */
export function activeTotal(slug: string, today: string): number {
  return scalar(
    "SELECT COALESCE(SUM(tokens), 0) FROM token_packs WHERE team_id = ? AND purchased_on <= ? AND expires_on > ? AND voided_at IS NULL",
    [teamId(slug), today, today],
  );
}
