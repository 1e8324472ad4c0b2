// Shopper journeys through the storefront in Debian's Chromium (playwright-core drives the
// system browser; it cannot download its own here). Every page type is checked with axe-core
// (no serious or critical violations), weighed (under 100 KB before images) and photographed
// at phone and desktop widths into artifacts/screenshots/.
//
//   SHOP_URL=http://127.0.0.1:9280 npm test        (bash run.sh starts a system of its own)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const SHOP = process.env.SHOP_URL ?? "http://127.0.0.1:9280";
const SHOTS = new URL("./artifacts/screenshots/", import.meta.url).pathname;
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const PASSWORD = "correct horse battery staple";

let browser;
const checkedPages = new Set();

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
});

async function shopper(options = {}) {
  const context = await browser.newContext({ baseURL: SHOP, viewport: DESKTOP, ...options });
  const page = await context.newPage();
  return { context, page };
}

/** A fresh account, registered through the API, so each journey has its own cart and orders. */
async function newAccount(context) {
  const email = `shopper-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const response = await context.request.post("/api/users", {
    data: { email, password: PASSWORD, display_name: "Test Shopper" },
  });
  assert.equal(response.status(), 201, await response.text());
  return email;
}

async function signIn(page, email) {
  if (!page.url().includes("/signin")) await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Account", exact: true }).waitFor();
}

/** axe-core, the weight, and two screenshots of the page as it is now (once per page type). */
async function check(page, name) {
  if (checkedPages.has(name)) return;
  checkedPages.add(name);
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    [],
    `accessibility of the ${name} page`,
  );
  const weight = await page.evaluate(async () => {
    const html = new TextEncoder().encode(document.documentElement.outerHTML).length;
    const assets = [...document.querySelectorAll("link[rel=stylesheet], script[src]")].map((e) => e.href || e.src);
    const sizes = await Promise.all(assets.map((url) => fetch(url).then((r) => r.arrayBuffer()).then((b) => b.byteLength)));
    return html + sizes.reduce((a, b) => a + b, 0);
  });
  assert.ok(weight < 100 * 1024, `the ${name} page weighs ${weight} bytes before images`);
  const viewport = page.viewportSize();
  for (const [label, size] of [["phone", PHONE], ["desktop", DESKTOP]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: `${SHOTS}${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize(viewport);
}

test("browse, search with a typo, filter, add to cart, sign in, check out, see it confirmed live, cancel it", async () => {
  const { context, page } = await shopper();
  const email = await newAccount(context);

  await page.goto("/");
  await check(page, "home");
  await page.getByRole("link", { name: /Electronics/ }).first().click();
  await assert.doesNotReject(page.getByRole("heading", { level: 1, name: "Electronics" }).waitFor());
  await page.getByLabel("Sort by").selectOption("price_asc");
  await page.waitForURL(/sort=price_asc/);
  await check(page, "category");

  await page.getByLabel("Search the shop").fill("headphnes");
  await page.getByLabel("Search the shop").press("Enter");
  await page.waitForURL(/\/search\?q=headphnes/);
  const firstHit = page.locator(".grid .tile").first();
  await firstHit.waitFor();
  assert.match(await firstHit.locator(".name").innerHTML(), /<em>headphones<\/em>/i, "the match is highlighted");
  await page.getByLabel("In stock only").check();
  await page.getByLabel("Max price ($)").fill("1000");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.waitForURL(/in_stock=on/);
  await check(page, "search");

  await page.locator(".grid .tile a").first().click();
  await page.getByRole("button", { name: "Add to cart" }).waitFor();
  await check(page, "product");
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Add to cart" }).click();
  // Signed out: the cart needs an account, so the shop asks to sign in and comes back.
  await page.waitForURL(/\/signin\?next=/);
  await check(page, "signin");
  await signIn(page, email);
  await page.getByLabel("Quantity").fill("2");
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText("Added to your cart").waitFor();

  await page.getByRole("link", { name: /^Cart/ }).click();
  await page.getByRole("link", { name: "Go to checkout" }).waitFor();
  await check(page, "cart");
  await page.getByRole("link", { name: "Go to checkout" }).click();
  await fillNewAddress(page);
  await check(page, "checkout");
  await page.getByRole("button", { name: /Place order/ }).click();
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  await page.evaluate(() => { window.stillTheSamePage = true; });
  const badge = page.locator("#order-status [data-status]");
  await page.waitForFunction(() => document.querySelector("#order-status [data-status]")?.dataset.status === "confirmed");
  assert.equal(await page.evaluate(() => window.stillTheSamePage), true, "confirmed without a reload");
  assert.equal(await badge.textContent(), "Confirmed");
  await check(page, "order");

  await page.getByRole("button", { name: "Cancel this order" }).click();
  await page.waitForFunction(() => document.querySelector("#order-status [data-status]")?.dataset.status === "cancelled");
  await page.getByRole("link", { name: "Orders", exact: true }).click();
  await page.locator("table.lines tbody tr").first().waitFor();
  assert.equal(await page.locator("table.lines tbody tr").count(), 1);
  await check(page, "orders");
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await check(page, "account");
  await page.getByRole("link", { name: "About this system" }).click();
  assert.ok((await page.locator("#stage").textContent()).length > 0);
  assert.match(await page.locator("#answered").textContent(), /product/);
  await check(page, "about");
  await page.goto("/no-such-page");
  await check(page, "not-found");
  await context.close();
});

async function fillNewAddress(page, token = "tok_visa") {
  await page.getByLabel("A new address:").check();
  await page.getByLabel("Full name").fill("Ada Lovelace");
  await page.getByLabel("Address", { exact: true }).fill("12 Analytical Row");
  await page.getByLabel("City").fill("London");
  await page.getByLabel("Postal code").fill("N1 7AA");
  await page.getByLabel(/Country code/).fill("GB");
  await page.getByLabel("Payment token").fill(token);
}

async function addFirstProductToCart(page, category = "kitchen") {
  await page.goto(`/categories/${category}`);
  await page.locator(".grid .tile:has(.in-stock) a").first().click();
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.getByText("Added to your cart").waitFor();
}

async function expectFieldError(page, id) {
  await page.locator(`#${id}-error`).waitFor();
  assert.equal(await page.locator(`#${id}`).getAttribute("aria-invalid"), "true", `${id} is marked invalid`);
  assert.ok((await page.locator(`#${id}-error`).textContent()).trim().length > 0, `${id} has its message`);
}

test("registering with bad input shows the API's field errors next to the fields", async () => {
  const { context, page } = await shopper();
  await page.goto("/register");
  await check(page, "register");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Your name").fill("Bad Input");
  await page.getByLabel(/Password/).fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  // The API names the first field it cannot accept; each is shown next to its field.
  await expectFieldError(page, "email");
  assert.equal(await page.locator("#email").inputValue(), "not-an-email", "what was typed is kept");
  const email = `fixed-${Date.now()}@example.com`;
  await page.getByLabel("Email").fill(email);
  await page.getByLabel(/Password/).fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expectFieldError(page, "password");
  await check(page, "register-errors");

  await page.getByLabel(/Password/).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/account$/);
  await page.getByText(email).waitFor();
  await context.close();
});

test("a declined payment shows the order as cancelled", async () => {
  const { context, page } = await shopper();
  const email = await newAccount(context);
  await signIn(page, email);
  await addFirstProductToCart(page);
  await page.goto("/checkout");
  await fillNewAddress(page, "tok_decline");
  await page.getByRole("button", { name: /Place order/ }).click();
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  await page.waitForFunction(() => document.querySelector("#order-status [data-status]")?.dataset.status === "cancelled");
  await page.getByText(/declined/i).first().waitFor();
  await context.close();
});

test("the cart survives signing out and in again", async () => {
  const { context, page } = await shopper();
  const email = await newAccount(context);
  await signIn(page, email);
  await addFirstProductToCart(page, "books");
  await page.goto("/cart");
  const name = await page.locator("table.lines tbody tr a").first().textContent();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Sign in" }).waitFor();
  await page.goto("/cart");
  await page.waitForURL(/\/signin/);
  await signIn(page, email);
  await page.waitForURL(/\/cart$/);
  assert.equal(await page.locator("table.lines tbody tr a").first().textContent(), name);
  await context.close();
});

test("a double-submitted checkout places one order", async () => {
  // Without JavaScript nothing stops the second click: the idempotency key has to.
  const { context, page } = await shopper({ javaScriptEnabled: false });
  const email = await newAccount(context);
  await signIn(page, email);
  await addFirstProductToCart(page, "toys");
  await page.goto("/checkout");
  await fillNewAddress(page);
  const key = await page.locator("input[name=idempotency_key]").inputValue();
  assert.ok(key.length > 0);
  await page.getByRole("button", { name: /Place order/ }).dblclick();
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  // And a resubmission of the same form (a refresh that re-posts, a retry): still one order.
  const again = await page.request.post("/checkout", {
    form: {
      idempotency_key: key, address: "new", recipient: "Ada Lovelace", line1: "12 Analytical Row",
      city: "London", postal_code: "N1 7AA", country: "GB", payment_token: "tok_visa",
    },
    headers: { origin: SHOP },
    maxRedirects: 0,
  });
  assert.equal(again.status(), 303);
  assert.equal(new URL(again.headers().location, SHOP).pathname, new URL(page.url()).pathname);
  const orders = await (await page.request.get("/api/orders")).json();
  assert.equal(orders.items.length, 1, "one order");
  await context.close();
});
