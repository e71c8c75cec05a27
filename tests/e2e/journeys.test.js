// Every patient journey in headless Chromium (Debian's /usr/bin/chromium) against the local
// portal (`target/debug/portal`), each at a laptop and a phone width, with axe-core (WCAG 2.1 AA)
// on every page visited. Each journey gets its own portal process, so state never leaks.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '../..');
const PORTAL = process.env.PORTAL_BIN || path.join(ROOT, 'target/debug/portal');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WIDTHS = [1280, 375];
// Screenshots of the pages each journey reaches, and of any failure, for people to look at.
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
const SHOTS = path.join(TARGET, 'screenshots');
const FAILURES = path.join(TARGET, 'e2e-failures');

let browser;

before(async () => {
  assert.ok(fs.existsSync(PORTAL), `${PORTAL} is missing: build it with cargo build -p portal-cli`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
});

/** Pages the journeys saw (promises of { path, html }). */
const visited = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

// localstripe, the fake Stripe (with a fake Stripe.js) that scripts/test starts on 127.0.0.1.
const STRIPE = process.env.PORTAL_TEST_STRIPE_URL;

/** The variables a portal configured for Stripe runs with, pointed at localstripe. */
function stripeEnvironment() {
  assert.ok(STRIPE, 'PORTAL_TEST_STRIPE_URL is not set: run scripts/test, which starts localstripe');
  return {
    STRIPE_SECRET_KEY: 'sk_test_e2e',
    STRIPE_PUBLISHABLE_KEY: 'pk_test_e2e',
    STRIPE_WEBHOOK_SECRET: 'whsec_e2e',
    STRIPE_API_BASE: STRIPE,
    STRIPE_JS_URL: `${STRIPE}/js.stripe.com/v3/`,
  };
}

/** Starts a portal with fresh demo data on a free 127.0.0.1 port (on the sandbox, or on Stripe). */
async function startPortal(payments = 'sandbox') {
  const port = await freePort();
  const extra = payments === 'stripe' ? stripeEnvironment() : {};
  const child = spawn(PORTAL, ['--port', String(port), '--payments', payments], {
    env: { ...process.env, ...extra, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const accessLink = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the portal did not start: ${output}`)), 20000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/Access link for Maria: (\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`the portal exited (${code}): ${output}`)));
  });
  return { base: `http://127.0.0.1:${port}`, accessLink, stop: () => child.kill('SIGTERM') };
}

/** A browser context at `width` with its own portal (and JavaScript on unless `script` is false). */
async function open(width, script = true, payments = 'sandbox') {
  const portal = await startPortal(payments);
  // The portal's Content-Security-Policy is enforced: pages run only what it allows (axe runs
  // through the browser's debugging protocol, which the policy does not govern).
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true, javaScriptEnabled: script });
  const page = await context.newPage();
  // Every HTML page the journeys visit, as the portal sent it, for the Nu HTML Checker at the end.
  page.on('response', (response) => {
    const type = response.headers()['content-type'] || '';
    if (response.request().resourceType() === 'document' && type.startsWith('text/html') && response.status() < 300) {
      visited.push(
        response
          .text()
          .then((html) => ({ path: new URL(response.url()).pathname, html }))
          .catch(() => null),
      );
    }
  });
  return {
    portal,
    page,
    width,
    base: portal.base,
    async close() {
      await context.close();
      portal.stop();
    },
  };
}

/** axe-core with the WCAG 2.1 A and AA rules: no violations allowed. */
async function checkA11y(page) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const violations = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(violations, [], `accessibility of ${page.url()}`);
  const title = await page.title();
  assert.ok(title.includes('·'), `a title that says where you are: ${title}`);
}

/**
 * No sideways scroll, and every money amount fully visible: inside the viewport and not cut off
 * by a box narrower than its content.
 */
async function checkFits(page) {
  const problems = await fitProblems(page);
  assert.deepEqual(problems, [], `layout of ${page.url()} at ${page.viewportSize().width}px`);
}

async function fitProblems(page) {
  return page.evaluate(() => {
    const found = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth) found.push(`the page scrolls sideways (${doc.scrollWidth} > ${doc.clientWidth} px)`);
    const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!/\$\d/.test(node.textContent)) continue;
      const element = node.parentElement;
      const rect = element.getBoundingClientRect();
      if (rect.width === 0) continue;
      if (rect.left < 0 || rect.right > doc.clientWidth + 0.5) found.push(`"${node.textContent.trim()}" runs off the screen`);
      for (let box = element; box && box !== document.body; box = box.parentElement) {
        const style = getComputedStyle(box);
        if (style.overflowX !== 'visible' && box.scrollWidth > box.clientWidth + 1) {
          found.push(`"${node.textContent.trim()}" is clipped by <${box.tagName.toLowerCase()} class="${box.className}">`);
          break;
        }
      }
    }
    return found;
  });
}

async function visit(s, pathname) {
  const response = await s.page.goto(s.base + pathname);
  await checkA11y(s.page);
  return response;
}

/** Saves a full-page screenshot as target/screenshots/NAME-WIDTH.png. */
async function shot(s, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await s.page.screenshot({ path: path.join(SHOTS, `${name}-${s.width}.png`), fullPage: true });
}

async function codeFor(s, email) {
  const response = await s.page.request.get(`${s.base}/_dev/outbox`, { headers: { Accept: 'application/json' } });
  const mine = (await response.json()).filter((m) => m.to === email);
  assert.ok(mine.length > 0, `an email to ${email}`);
  return mine[mine.length - 1].text.match(/\b(\d{6})\b/)[1];
}

async function enterCode(s, email) {
  await s.page.waitForURL('**/sign-in/code');
  await checkA11y(s.page);
  await s.page.getByLabel('6-digit code').fill(await codeFor(s, email));
  await s.page.getByRole('button', { name: 'Sign in' }).click();
}

async function signIn(s, email) {
  await visit(s, '/sign-in');
  if (email === 'maria@example.com') await shot(s, 'sign-in');
  await s.page.getByLabel('Email address').fill(email);
  await s.page.getByRole('button', { name: 'Email me a code' }).click();
  await enterCode(s, email);
}

async function text(s) {
  return s.page.locator('main').innerText();
}

const journeys = {
  async 'sign in by email and see the invoice overview'(s) {
    await signIn(s, 'maria@example.com');
    await s.page.waitForURL('**/invoices');
    await checkA11y(s.page);
    const main = await text(s);
    assert.match(main, /Total due\s+\$330\.00/);
    assert.match(main, /Past due\s+\$140\.00/);
    await shot(s, 'invoices');
  },

  async 'sign in by access link, by keyboard alone'(s) {
    await s.page.goto(s.portal.accessLink);
    await checkA11y(s.page);
    assert.match(await text(s), /m•••@example\.com/);
    await s.page.keyboard.press('Tab'); // skip link
    await s.page.getByRole('button', { name: 'Email me a code' }).focus();
    await s.page.keyboard.press('Enter');
    await s.page.waitForURL('**/sign-in/code');
    await s.page.getByLabel('6-digit code').focus();
    await s.page.keyboard.type(await codeFor(s, 'maria@example.com'));
    await s.page.keyboard.press('Enter');
    await s.page.waitForURL('**/invoices');
    const outline = await s.page.evaluate(() => {
      const link = document.querySelector('main a');
      link.focus();
      return getComputedStyle(link).outlineStyle;
    });
    assert.notEqual(outline, 'none', 'focus is visible');
  },

  async 'invoice detail, PDF download and a statement'(s) {
    await signIn(s, 'maria@example.com');
    await s.page.getByRole('link', { name: 'INV-1008' }).click();
    await s.page.waitForURL(/\/invoices\/inv-1008\?issued=\d{4}-\d{2}-\d{2}$/);
    await checkA11y(s.page);
    assert.match(await text(s), /Balance due\s+\$140\.00/);
    await shot(s, 'invoice');
    const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('link', { name: 'Download PDF' }).click()]);
    assert.equal(download.suggestedFilename(), 'invoice-INV-1008.pdf');
    await visit(s, '/invoices');
    await s.page.getByRole('button', { name: 'Show statement' }).click();
    await s.page.waitForURL('**/statement?**');
    await checkA11y(s.page);
    assert.match(await text(s), /Closing balance\s+\$330\.00/);
    await shot(s, 'statement');
  },

  async 'an itemized receipt and the yearly summary for an HSA'(s) {
    await signIn(s, 'maria@example.com');
    await s.page.getByRole('link', { name: 'Receipts and yearly summaries' }).click();
    await s.page.waitForURL('**/receipts');
    await checkA11y(s.page);
    await checkFits(s.page);
    const year = (await text(s)).match(/Paid in (\d{4})/)[1];
    await shot(s, 'receipts');
    const [summary] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('link', { name: `${year} summary (PDF)` }).click()]);
    assert.equal(summary.suggestedFilename(), `payments-${year}.pdf`);
    await s.page.locator('table.receipts tbody a').first().click();
    await s.page.waitForURL('**/receipts/pay-*');
    await checkA11y(s.page);
    await checkFits(s.page);
    const main = await text(s);
    assert.match(main, /Tax ID \(EIN\) 12-3456789/);
    assert.match(main, /NPI 1234567893/);
    assert.match(main, /Total paid\s+\$\d/);
    await shot(s, 'itemized-receipt');
    const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('link', { name: 'Download PDF' }).click()]);
    assert.match(download.suggestedFilename(), /^receipt-pay-\d+\.pdf$/);
  },

  async 'remove a member with a reason after reviewing the terms, then withdraw the request'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/memberships');
    await s.page.getByRole('link', { name: 'Cancel or remove a member' }).first().click();
    await s.page.waitForURL('**/memberships/ms-lopez-2/leave');
    await checkA11y(s.page);
    await checkFits(s.page);
    await s.page.getByLabel('Remove Sofia Lopez from the membership').check();
    await s.page.getByLabel('Reason').selectOption('moving');
    await s.page.getByLabel('Anything you would like the practice to know').fill('We are moving to Ohio in the spring.');
    await s.page.getByRole('button', { name: 'Review' }).click();
    await s.page.getByRole('heading', { name: 'Review: Remove Sofia Lopez' }).waitFor();
    await checkA11y(s.page);
    await checkFits(s.page);
    assert.match(await text(s), /No longer billed\s+\$30\.00 per month from/);
    await shot(s, 'leave-review');
    await s.page.getByRole('button', { name: 'Confirm removal' }).click();
    await s.page.waitForURL('**/memberships?done=leaving-requested');
    await checkA11y(s.page);
    assert.match(await text(s), /Removal requested: Sofia Lopez/);
    await s.page.getByRole('button', { name: 'Withdraw request' }).click();
    await s.page.waitForURL('**/memberships?done=leaving-withdrawn');
    assert.doesNotMatch(await text(s), /Removal requested/);
  },

  async "stop reminders from an email's one-click link, and only that preference changes"(s) {
    const run = await s.page.request.post(`${s.base}/_dev/reminders`);
    assert.ok(run.ok(), 'the reminders run');
    const response = await s.page.request.get(`${s.base}/_dev/outbox`, { headers: { Accept: 'application/json' } });
    const reminders = (await response.json()).filter((m) => m.to === 'maria@example.com' && /Stop these reminders/.test(m.text));
    assert.ok(reminders.length > 0, 'a reminder to Maria');
    const link = reminders[reminders.length - 1].text.match(/Stop these reminders[^:]*: (\S+)/)[1];
    await s.page.goto(link);
    await checkA11y(s.page);
    await checkFits(s.page);
    await s.page.getByRole('button', { name: 'Stop reminders' }).click();
    await s.page.getByRole('heading', { name: 'Reminders are off' }).waitFor();
    await checkA11y(s.page);
    await signIn(s, 'maria@example.com');
    await visit(s, '/members/maria/email');
    assert.equal(await s.page.getByLabel('No reminders').isChecked(), true, "Maria's reminders are off");
    await shot(s, 'email-preferences');
    // Only hers: Daniel, signed in, still gets his.
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(s, 'daniel@example.com');
    await visit(s, '/members/daniel/email');
    assert.equal(await s.page.getByLabel('Email me reminders').isChecked(), true, "Daniel's are not");
  },

  async 'a partial payment with a saved source'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/invoices/inv-1008/pay');
    await checkFits(s.page);
    await shot(s, 'pay');
    await s.page.getByLabel('Amount (USD)').fill('40.00');
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    await checkA11y(s.page);
    assert.match(await text(s), /Payment received[\s\S]*New balance\s+\$100\.00/);
    await checkFits(s.page);
    await shot(s, 'receipt');
  },

  // Issue 25, item 4: pay everything due in one go, oldest first, after a review (no charge before it).
  async 'pay total due after reviewing it'(s) {
    await signIn(s, 'maria@example.com');
    await s.page.getByRole('link', { name: 'Pay total due' }).click();
    await s.page.waitForURL(/\/pay-due\?since=\d{4}-\d{2}-\d{2}$/);
    await checkA11y(s.page);
    await checkFits(s.page);
    assert.equal(await s.page.getByLabel('Amount (USD)').inputValue(), '330.00');
    await s.page.getByRole('button', { name: 'Review payment' }).click();
    await s.page.getByRole('heading', { name: 'Review your payment' }).waitFor();
    await checkA11y(s.page);
    await checkFits(s.page);
    await shot(s, 'pay-review');
    assert.match(await text(s), /Pay \$330\.00 with Visa ending 4242/);
    assert.match(await text(s), /INV-1008[\s\S]*INV-1009/);
    // "Change" goes back to the form as it was, and nothing was charged.
    await s.page.getByRole('button', { name: 'Change' }).click();
    await s.page.getByLabel('Amount (USD)').fill('200');
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    await checkA11y(s.page);
    await checkFits(s.page);
    assert.match(await text(s), /Payment received[\s\S]*Amount\s+\$200\.00/);
    assert.match(await text(s), /INV-1008\s+\$140\.00\s+\$0\.00[\s\S]*INV-1009\s+\$60\.00\s+\$130\.00/);
  },

  // Issue 25, item 2: the saved Visa stays selected above while a new card is typed below; typing
  // chooses the new card, and only the card's fields show while "Card" is the type.
  async 'typing a new card pays with it, not the saved card still selected'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/invoices/inv-1009/pay');
    assert.ok(await s.page.getByLabel(/Visa/).isChecked(), 'the saved Visa is selected to begin with');
    await s.page.getByText('New card or bank account', { exact: true }).click();
    assert.ok(await s.page.getByLabel('Card number').isVisible());
    assert.ok(!(await s.page.getByLabel('Routing number').isVisible()), 'the bank fields hide while Card is the type');
    await s.page.getByLabel('Card number').fill('5555 5555 5555 4444');
    assert.ok(await s.page.getByLabel('A new card or bank account').isChecked(), 'typing chose the new card');
    await s.page.getByLabel('Expiry month').fill('12');
    await s.page.getByLabel('Expiry year').fill('2031');
    await s.page.getByLabel('Security code').fill('123');
    await s.page.getByLabel('Billing ZIP code').fill('78613');
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    const receipt = await text(s);
    assert.match(receipt, /Mastercard/);
    assert.doesNotMatch(receipt, /Visa/);
  },

  async 'a payment with a new card that is saved'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/invoices/inv-1009/pay');
    await s.page.getByLabel('A new card or bank account').check();
    await s.page.getByText('New card or bank account', { exact: true }).click();
    await s.page.getByLabel('Card number').fill('4242 4242 4242 4242');
    await s.page.getByLabel('Expiry month').fill('12');
    await s.page.getByLabel('Expiry year').fill('2031');
    await s.page.getByLabel('Security code').fill('123');
    await s.page.getByLabel('Billing ZIP code').fill('78613');
    await s.page.getByLabel('Save it for future payments').check();
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    assert.match(await text(s), /New balance\s+\$0\.00/);
    await visit(s, '/payment-methods');
    assert.equal(await s.page.locator('li.source').count(), 3);
  },

  async 'a declined card changes nothing'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/invoices/inv-1009/pay');
    await s.page.getByLabel('A new card or bank account').check();
    await s.page.getByText('New card or bank account', { exact: true }).click();
    await s.page.getByLabel('Card number').fill('4000 0000 0000 0002');
    await s.page.getByLabel('Expiry month').fill('12');
    await s.page.getByLabel('Expiry year').fill('2031');
    await s.page.getByLabel('Security code').fill('123');
    await s.page.getByLabel('Billing ZIP code').fill('78613');
    await reviewAndPay(s);
    await s.page.waitForLoadState();
    await checkA11y(s.page);
    assert.match(await s.page.getByRole('alert').innerText(), /declined/);
    assert.match(await text(s), /Balance due\s+\$190\.00/);
  },

  async 'add and remove a payment method, and the last one is refused'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/payment-methods');
    await s.page.getByRole('link', { name: 'Add a card or bank account' }).click();
    await checkA11y(s.page);
    await s.page.getByLabel('Bank account (ACH)').check();
    await s.page.getByLabel('Name on the account').fill('Maria Lopez');
    await s.page.getByLabel('Routing number').fill('110000000');
    await s.page.getByLabel('Account number').fill('000123456789');
    await s.page.getByRole('button', { name: 'Save' }).click();
    await s.page.waitForURL('**/payment-methods?done=added');
    await checkA11y(s.page);
    assert.equal(await s.page.locator('li.source').count(), 3);
    await s.page.locator('li.source', { hasText: 'Visa ending 4242' }).getByRole('link', { name: 'Remove' }).click();
    await s.page.waitForURL('**/payment-methods/src-visa/remove');
    await checkA11y(s.page);
    assert.match(await text(s), /Remove Visa ending 4242\?/);
    await s.page.getByRole('button', { name: 'Remove Visa ending 4242' }).click();
    await s.page.waitForURL('**/payment-methods?done=removed**');
    assert.match(await text(s), /Removed Visa ending 4242\./);
    assert.equal(await s.page.locator('li.source').count(), 2);
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.waitForURL('**/sign-in');
    await signIn(s, 'sam@example.com');
    await visit(s, '/payment-methods');
    assert.match(await text(s), /only payment method, so it cannot be removed/);
    assert.equal(await s.page.getByRole('link', { name: /^Remove/ }).count(), 0);
  },

  async 'edit contact details after a validation error'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/members');
    await s.page.getByRole('link', { name: 'Edit contact details of Daniel Lopez' }).click();
    await checkA11y(s.page);
    await s.page.getByLabel('Mobile').fill('555-01');
    await s.page.getByRole('button', { name: 'Save changes' }).click();
    await s.page.waitForLoadState();
    await checkA11y(s.page);
    const field = s.page.getByLabel('Mobile');
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.match(await s.page.locator('#f-phone_mobile-error').innerText(), /10-digit US phone number/);
    await field.fill('(512) 555-0177');
    await s.page.getByRole('button', { name: 'Save changes' }).click();
    await s.page.waitForURL('**/contact?done=saved');
    assert.equal(await s.page.getByLabel('Mobile').inputValue(), '(512) 555-0177');
    await shot(s, 'contact');
  },

  async 'renew the membership'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/memberships');
    await s.page.getByRole('link', { name: 'Renew membership' }).click();
    await checkA11y(s.page);
    await s.page.getByRole('button', { name: 'Confirm renewal' }).click();
    await s.page.waitForURL('**/memberships?done=renewed');
    await checkA11y(s.page);
    assert.match(await text(s), /Upcoming/);
    await shot(s, 'memberships');
    assert.equal(await s.page.getByRole('link', { name: 'Renew membership' }).count(), 0);
  },

  async 'add a dependent after seeing the price'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/memberships');
    await s.page.getByRole('link', { name: '+ Add new member' }).click();
    await checkA11y(s.page);
    const born = new Date();
    born.setFullYear(born.getFullYear() - 4);
    await s.page.getByLabel('First name').fill('Lucas');
    await s.page.getByLabel('Last name').fill('Lopez');
    await s.page.getByLabel('Date of birth').fill(born.toISOString().slice(0, 10));
    await s.page.getByLabel('Sex').selectOption('male');
    await s.page.getByLabel('Relationship to you').selectOption('child');
    await s.page.getByRole('button', { name: 'See the new price' }).click();
    await s.page.waitForLoadState();
    await checkA11y(s.page);
    assert.match(await text(s), /Lucas Lopez \(new\)\s+\$30\.00/);
    await shot(s, 'dependent-quote');
    await s.page.getByRole('button', { name: 'Confirm and add' }).click();
    await s.page.waitForURL('**/memberships?done=added');
    assert.match(await text(s), /Lucas Lopez/);
  },

  async 'sign an agreement and download it'(s) {
    await signIn(s, 'maria@example.com');
    await visit(s, '/agreements');
    await s.page.getByRole('link', { name: 'Financial Policy' }).click();
    await checkA11y(s.page);
    await s.page.getByLabel('Full name').fill('Maria Lopez');
    await s.page.getByLabel('I have read this agreement and agree to sign it electronically.').check();
    await s.page.getByRole('button', { name: 'Sign agreement' }).click();
    await s.page.waitForURL('**/agreements/agr-financial');
    await checkA11y(s.page);
    assert.match(await text(s), /Signed by\s+Maria Lopez/);
    await shot(s, 'agreement');
    const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.getByRole('link', { name: 'Download signed copy (PDF)' }).click()]);
    assert.equal(download.suggestedFilename(), 'financial-policy-signed.pdf');
  },

  async 'see the account activity and the signed-in devices'(s) {
    await signIn(s, 'maria@example.com');
    await s.page.waitForURL('**/invoices');
    await s.page.getByRole('link', { name: 'Activity' }).click();
    await s.page.waitForURL('**/activity');
    await checkA11y(s.page);
    assert.match(await text(s), /Signed in/);
    assert.match(await text(s), /Maria Lopez/);
    await shot(s, 'activity');
    await s.page.getByRole('link', { name: 'sign out your other devices' }).click();
    await s.page.waitForURL('**/devices');
    await checkA11y(s.page);
    assert.match(await text(s), /This device/);
    assert.match(await text(s), /You are not signed in anywhere else/);
    await shot(s, 'devices');
  },

  async 'sign out, and the back button shows nothing private'(s) {
    await signIn(s, 'maria@example.com');
    await s.page.waitForURL('**/invoices');
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.waitForURL('**/sign-in');
    await s.page.goBack();
    await s.page.waitForLoadState();
    assert.match(s.page.url(), /\/sign-in/);
    assert.doesNotMatch(await text(s), /Total due/);
  },
};

// The same portal configured for Stripe (localstripe): cards are typed into Stripe.js's card field
// and go to Stripe alone; the portal receives only Stripe's ids, which the journeys check on every
// request the browser sends it.
async function typeCard(s, number) {
  const card = s.page.locator('#card-element');
  await card.locator('input[placeholder="number"]').fill(number);
  await card.locator('input[placeholder="exp_month"]').fill('12');
  await card.locator('input[placeholder="exp_year"]').fill('31');
  await card.locator('input[placeholder="cvc"]').fill('123');
  await card.locator('input[placeholder="postal_code"]').fill('78613');
}

/** Fails the journey if any request to the portal carries a card number. */
function watchForCardNumbers(s) {
  const leaks = [];
  s.page.on('request', (request) => {
    if (request.url().startsWith(s.base) && /\d{4}\D?\d{4}\D?\d{4}\D?\d{4}/.test(decodeURIComponent(request.postData() || ''))) {
      leaks.push(request.url());
    }
  });
  return () => assert.deepEqual(leaks, [], 'no card number is ever sent to the portal');
}

const stripeJourneys = {
  async 'stripe: add a card in Stripe\'s field, then pay part of an invoice with it'(s) {
    const noLeaks = watchForCardNumbers(s);
    await signIn(s, 'maria@example.com');
    await visit(s, '/payment-methods/new');
    await checkFits(s.page);
    await shot(s, 'stripe-add-card');
    await typeCard(s, '4000056655665556');
    await s.page.getByRole('button', { name: 'Save' }).click();
    await s.page.waitForURL('**/payment-methods?done=added');
    await checkA11y(s.page);
    assert.match(await text(s), /Visa ending 5556/);
    await visit(s, '/invoices/inv-1008/pay');
    await s.page.getByLabel('Amount (USD)').fill('20.00');
    await s.page.getByLabel(/Visa ending 5556/).check();
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    await checkA11y(s.page);
    assert.match(await text(s), /Payment received[\s\S]*Visa ending 5556[\s\S]*New balance\s+\$120\.00/);
    noLeaks();
  },

  async 'stripe: pay with a new card, saved for later'(s) {
    const noLeaks = watchForCardNumbers(s);
    await signIn(s, 'maria@example.com');
    await visit(s, '/invoices/inv-1009/pay');
    await s.page.getByLabel('A new card or bank account').check();
    await s.page.getByText('New card or bank account', { exact: true }).click();
    await typeCard(s, '5555555555554444');
    await s.page.getByLabel('Save it for future payments').check();
    await checkFits(s.page);
    await shot(s, 'stripe-pay');
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    await checkA11y(s.page);
    assert.match(await text(s), /Payment received[\s\S]*ending 4444[\s\S]*New balance\s+\$0\.00/);
    await visit(s, '/payment-methods');
    // The demo's Visa (Stripe's test card; the sandbox's bank account is not carried to Stripe) and the new one.
    assert.equal(await s.page.locator('li.source').count(), 2);
    assert.match(await text(s), /ending 4444/);
    noLeaks();
  },

  async 'stripe: a card that asks for 3-D Secure is paid after the bank\'s step'(s) {
    const noLeaks = watchForCardNumbers(s);
    await signIn(s, 'maria@example.com');
    await visit(s, '/invoices/inv-1008/pay');
    await s.page.getByLabel('Amount (USD)').fill('25.00');
    await s.page.getByLabel('A new card or bank account').check();
    await s.page.getByText('New card or bank account', { exact: true }).click();
    await typeCard(s, '4000002500003155');
    await s.page.getByRole('button', { name: 'Review payment' }).click();
    // The bank's window (localstripe's stands in for it) asks first when the card is set up, then
    // on the portal's "Confirm the payment" page for the payment itself.
    await s.page.getByRole('button', { name: 'Complete authentication' }).click();
    await s.page.getByRole('heading', { name: 'Review your payment' }).waitFor();
    assert.match(await text(s), /Pay \$25\.00 with a new Visa ending 3155/);
    await s.page.getByRole('button', { name: 'Pay now' }).click();
    await s.page.getByRole('heading', { name: 'Confirm the payment with your bank' }).waitFor();
    await checkA11y(s.page);
    await checkFits(s.page);
    await s.page.getByRole('button', { name: 'Complete authentication' }).click();
    await s.page.waitForURL('**/payments/**');
    await checkA11y(s.page);
    assert.match(await text(s), /Payment received[\s\S]*New balance\s+\$115\.00/);
    await checkFits(s.page);
    noLeaks();
  },
};

// The pay form's "Review payment", then the review's "Pay now": nothing is charged before it.
async function reviewAndPay(s) {
  await s.page.getByRole('button', { name: 'Review payment' }).click();
  await s.page.getByRole('heading', { name: 'Review your payment' }).waitFor();
  await s.page.getByRole('button', { name: 'Pay now' }).click();
}

async function run(name, width, script, journey, payments = 'sandbox') {
  const s = await open(width, script, payments);
  try {
    await journey(s);
  } catch (error) {
    fs.mkdirSync(FAILURES, { recursive: true });
    await s.page.screenshot({ path: path.join(FAILURES, `${name.replace(/\W+/g, '-')}-${width}.png`), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await s.close();
  }
}

for (const [name, journey] of Object.entries(journeys)) {
  for (const width of WIDTHS) {
    test(`${name} at ${width}px`, () => run(name, width, true, journey));
  }
}

for (const [name, journey] of Object.entries(stripeJourneys)) {
  for (const width of [...WIDTHS, 320]) {
    test(`${name} at ${width}px`, () => run(name, width, true, journey, 'stripe'));
  }
}

// With JavaScript off, every page still works: sign in, pay part of an invoice, sign an agreement.
test('everything works with JavaScript disabled', () =>
  run('no-javascript', 375, false, async (s) => {
    await s.page.goto(`${s.base}/sign-in`);
    await s.page.getByLabel('Email address').fill('maria@example.com');
    await s.page.getByRole('button', { name: 'Email me a code' }).click();
    await s.page.waitForURL('**/sign-in/code');
    await s.page.getByLabel('6-digit code').fill(await codeFor(s, 'maria@example.com'));
    await s.page.getByRole('button', { name: 'Sign in' }).click();
    await s.page.waitForURL('**/invoices');
    await s.page.goto(`${s.base}/invoices/inv-1008`);
    await s.page.getByRole('link', { name: 'Print' }).click();
    await s.page.waitForURL(/\/invoices\/inv-1008\?issued=\d{4}-\d{2}-\d{2}&print=1$/);
    assert.match(await text(s), /Balance due/);
    await s.page.goto(`${s.base}/invoices/inv-1008/pay`);
    await s.page.getByLabel('Amount (USD)').fill('15');
    await reviewAndPay(s);
    await s.page.waitForURL('**/payments/**');
    assert.match(await text(s), /New balance\s+\$125\.00/);
    await s.page.goto(`${s.base}/agreements/agr-financial`);
    await s.page.getByLabel('Full name').fill('Maria Lopez');
    await s.page.getByLabel('I have read this agreement and agree to sign it electronically.').check();
    await s.page.getByRole('button', { name: 'Sign agreement' }).click();
    await s.page.waitForURL('**/agreements/agr-financial');
    assert.match(await text(s), /Signed by\s+Maria Lopez/);
  }));

// Issue 25, item 1: every page, at both phone widths: no sideways scroll, no money amount off the
// screen or clipped by a box narrower than its content.
const PAGES = [
  '/invoices',
  '/pay-due',
  '/invoices?show=unpaid',
  '/invoices/inv-1008',
  '/invoices/inv-1008?print=1',
  '/statement',
  '/receipts',
  '/receipts/pay-1008',
  '/invoices/inv-1008/pay',
  '/members',
  '/members/maria/contact',
  '/members/daniel/contact',
  '/members/maria/email',
  '/memberships',
  '/memberships/ms-lopez-2/renew',
  '/memberships/ms-lopez-2/dependents/new',
  '/memberships/ms-lopez-2/leave',
  '/payment-methods',
  '/payment-methods/new',
  '/payment-methods/src-checking/remove',
  '/payment-methods/autopay',
  '/agreements',
  '/agreements/agr-financial',
  '/agreements/agr-membership',
  '/activity',
  '/devices',
];
for (const width of [320, 375]) {
  test(`every page fits at ${width}px`, () =>
    run('every-page-fits', width, true, async (s) => {
      const problems = [];
      const check = async (label) => {
        for (const problem of await fitProblems(s.page)) problems.push(`${label}: ${problem}`);
      };
      await s.page.goto(`${s.base}/sign-in`);
      await check('/sign-in');
      await signIn(s, 'maria@example.com');
      for (const pathname of PAGES) {
        await s.page.goto(s.base + pathname);
        await check(pathname);
      }
      assert.deepEqual(problems, [], `every page at ${width}px`);
    }));
}

// Issue 25, item 8: every page the journeys visited, as the portal sent it, through the Nu HTML
// Checker (vnu.jar, on the machine's Java): no errors. Runs last (one test at a time, in order).
test('every page the journeys visited is valid HTML (Nu HTML Checker)', async () => {
  const { execFileSync } = require('node:child_process');
  const os = require('node:os');
  const pages = new Map();
  for (const page of await Promise.all(visited)) {
    if (page && !pages.has(page.path)) pages.set(page.path, page.html);
  }
  assert.ok(pages.size >= 15, `the journeys visited ${pages.size} pages`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-vnu-'));
  const files = [...pages].map(([pathname, html], i) => {
    const file = path.join(dir, `${i}-${pathname.replace(/\W+/g, '-')}.html`);
    fs.writeFileSync(file, html);
    return file;
  });
  let report;
  try {
    execFileSync('java', ['-jar', require('vnu-jar'), '--errors-only', '--format', 'json', ...files], { stdio: 'pipe' });
    report = { messages: [] };
  } catch (error) {
    report = JSON.parse(error.stderr.toString() || '{"messages":[{"message":"vnu did not run"}]}');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const errors = report.messages.filter((m) => m.type === 'error' || m.type === 'non-document-error' || !m.type);
  assert.deepEqual(errors.map((m) => `${path.basename(m.url || '')}: ${m.message}`), [], `${pages.size} pages checked`);
});
