'use strict';
// Drives the web UI in headless chromium (puppeteer-core): see ui_browser.sh. Args: URL TOKEN_A TOKEN_B OUT
// CHROMIUM REVOKE_COMMAND. Every check fails the run with a message; a screenshot is saved at every step.
const { execSync } = require('child_process');
const path = require('path');
const puppeteer = require('puppeteer-core');

const [url, tokenA, tokenB, out, chromium, revokeCmd] = process.argv.slice(2);
const fail = (m) => {
  throw new Error(`ui-browser: ${m}`);
};

(async () => {
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const shots = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1800 });
    const shot = async (name) => {
      const file = path.join(out, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      shots.push(file);
    };
    const row = (sel) => page.$eval(sel, (e) => e.innerText).catch(() => null);
    const home = async () => {
      const r = await page.goto(`${url}/`, { waitUntil: 'load' });
      if (r.status() !== 200) fail(`GET / answered ${r.status()}`);
    };
    const submit = async (form, fields, button = 'button') => {
      for (const [name, value] of Object.entries(fields)) {
        const sel = `form.${form} [name=${name}]`;
        const tag = await page.$eval(sel, (e) => e.tagName);
        if (tag === 'SELECT') await page.select(sel, value);
        else await page.type(sel, value);
      }
      const [resp] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(`form.${form} ${button}`)]);
      return resp;
    };

    // 1. The staged release: listed with who staged it, not in the lifecycle table.
    await home();
    await shot('staged');
    const staged = await row('tr.staged-release[data-version="1.1.0"]');
    if (!staged || !staged.includes('token:')) fail(`1.1.0 is not listed as staged by a token: ${staged}`);
    if (await row('table.lifecycle tr[data-version="1.1.0"]')) fail('a staged release is in the lifecycle table');
    const published = await row('table.lifecycle tr[data-version="1.0.0"]');
    if (!published || !published.includes('published')) fail(`1.0.0 is not shown as published: ${published}`);

    // 2. Self-approval from the browser: refused with its code, nothing changed.
    let resp = await submit('approve', { version: '1.1.0', token: tokenA });
    if (resp.status() !== 403) fail(`self-approval answered ${resp.status()}`);
    const refusal = await row('#refusal');
    if (!refusal || !refusal.includes('release.self_approval')) fail(`no release.self_approval on the page: ${refusal}: ${await page.content()}`);
    await shot('self-approval-refused');

    // 3. Another maintainer approves: the server signs it in; provenance names the approver.
    await home();
    resp = await submit('approve', { version: '1.1.0', token: tokenB });
    if (resp.status() !== 200 || !page.url().endsWith('/#pkg-x0x')) fail(`approval did not come back to the package: ${resp.status()} ${page.url()}`);
    const approved = await row('table.lifecycle tr[data-version="1.1.0"]');
    if (!approved || !approved.includes('approved_by') || !approved.includes('published')) fail(`1.1.0 after approval: ${approved}`);
    if (await row('tr.staged-release[data-version="1.1.0"]')) fail('1.1.0 is still staged after approval');
    await shot('approved');

    // 3b. Reject, next to approve: by the stager refused (release.self_approval); by another maintainer the
    // staged 1.2.0 is dropped, never signed in.
    await home();
    if (!(await row('tr.staged-release[data-version="1.2.0"]'))) fail('1.2.0 is not listed as staged');
    resp = await submit('approve', { version: '1.2.0', token: tokenA }, 'button.reject');
    if (resp.status() !== 403) fail(`self-rejection answered ${resp.status()}`);
    const selfReject = await row('#refusal');
    if (!selfReject || !selfReject.includes('release.self_approval')) fail(`no release.self_approval for a self-rejection: ${selfReject}`);
    await shot('self-rejection-refused');
    await home();
    if (!(await row('tr.staged-release[data-version="1.2.0"]'))) fail('a refused rejection dropped 1.2.0');
    resp = await submit('approve', { version: '1.2.0', token: tokenB }, 'button.reject');
    if (resp.status() !== 200 || !page.url().endsWith('/#pkg-x0x')) fail(`rejection did not come back to the package: ${resp.status()} ${page.url()}`);
    if (await row('tr.staged-release[data-version="1.2.0"]')) fail('1.2.0 is still staged after rejection');
    if (await row('table.lifecycle tr[data-version="1.2.0"]')) fail('a rejected release is in the lifecycle table');
    await shot('rejected');

    // 4. A bad token is refused; then yank 1.0.0 with a reason.
    resp = await submit('yank', { version: '1.0.0', reason: 'x', token: 'not-a-token' });
    if (resp.status() !== 401) fail(`a wrong token answered ${resp.status()}`);
    await home();
    resp = await submit('yank', { version: '1.0.0', reason: 'crashes on musl', token: tokenB });
    if (resp.status() !== 200) fail(`yank answered ${resp.status()}`);
    const yanked = await row('table.lifecycle tr.state-yanked[data-version="1.0.0"]');
    if (!yanked || !yanked.includes('crashes on musl')) fail(`1.0.0 not shown yanked with its reason: ${yanked}`);
    await shot('yanked');

    // 5. Revoked with an advisory (CLI), shown with the advisory link.
    execSync(revokeCmd, { stdio: 'inherit' });
    await home();
    const revoked = await row('table.lifecycle tr.state-revoked[data-version="1.1.0"]');
    if (!revoked || !revoked.includes('CVE-2026-0042')) fail(`1.1.0 not shown revoked: ${revoked}`);
    const link = await page.$eval('tr.state-revoked a', (a) => a.href).catch(() => null);
    if (link !== 'https://example.com/adv/42') fail(`advisory link: ${link}`);
    await shot('revoked');
    console.log(`ui-browser: ok; screenshots:\n${shots.join('\n')}`);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
