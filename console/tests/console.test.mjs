// The console in Chromium against a real server and an emulated inBio460 panel: sign in, a swipe
// appearing live, a door opened from the board, 1,000 persons imported and synced, a viewer without
// controls, axe-core on every page, and nothing requested from another host. Screenshots of every
// page land in build/console-test/ (README.md and docs/console.md show some).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ARTEFACTS, Bench, until } from './harness.mjs';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const SN = 'UIP000001';
const bench = new Bench();
let page; // the admin's page, kept across the tests in order
let level;

before(async () => {
  await bench.start();
  bench.panel(
    'panel',
    'UIP',
    [
      'wait online timeout=60s',
      // The person the test creates reaches the panel; then the card is swiped at door 1.
      'wait user pin=7001 timeout=10m',
      'sleep 1s',
      'swipe card=4242 door=1',
      // The last of the 1,000 imported persons reaches the panel: their card opens door 2.
      // Its user row comes before its authorisation (the manual's order): swiped every 2 s until
      // the door opens, which the test waits for.
      'wait user pin=11000 timeout=10m',
      ...Array.from({ length: 60 }, () => ['sleep 2s', 'swipe card=801000 door=2']).flat(),
      'sleep 600m',
      '',
    ].join('\n'),
  );
  await until('the emulated panel to be online', async () => (await bench.api('GET', '/devices')).some((d) => d.sn === SN && d.online), 60000).catch(
    (e) => {
      throw new Error(`${e.message}\n--- panel:\n${bench.logs.panel}\n--- server:\n${bench.logs.server.slice(-3000)}`);
    },
  );
  level = await bench.api('POST', '/access-levels', { name: 'Front doors', time_rule_id: 1, doors: [{ sn: SN, door: 1 }, { sn: SN, door: 2 }] });
  await bench.browser();
  page = await bench.page();
});

after(async () => {
  if (process.env.ZKPUSH_SHOW_LOGS) for (const [k, v] of Object.entries(bench.logs)) console.log(`--- ${k}\n${v}`);
  await bench.stop();
});

// Long pages (a thousand persons, a trace) are shot as the screen shows them, the rest whole.
async function shot(p, name) {
  const long = ['people', 'people-import', 'trace', 'events'].includes(name);
  await p.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: !long });
}

test('the login form takes a token with Enter; the console then lists the devices by serial number', async () => {
  await page.goto(`${bench.base}/`);
  const inputs = page.locator('form input');
  assert.equal(await inputs.count(), 1, 'one field');
  await shot(page, 'login');
  // A wrong token is refused with a message, and nothing is kept.
  await page.locator('input[name=token]').fill('not-a-token');
  await page.locator('input[name=token]').press('Enter');
  await page.getByRole('alert').filter({ hasText: /./ }).waitFor();
  await bench.signIn(page);
  await page.getByRole('table', { name: 'Devices' }).getByText(SN).waitFor();
  assert.equal(await page.evaluate(() => location.href.includes('Token')), false, 'the token is not in the URL');
  await page.locator(`li[data-sn="${SN}"][data-door="1"] [data-relay="connected"]`).waitFor({ timeout: 20000 });
  await shot(page, 'live');
});

test('keyboard only: a skip link first, then the pages, each reached with Enter', async () => {
  await page.goto(`${bench.base}/#/live`);
  await page.getByRole('table', { name: 'Devices' }).waitFor();
  await page.locator('body').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Tab'); // Live
  await page.keyboard.press('Tab'); // Events
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Events');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Live event feed' }).waitFor();
  // The focus is visible (an outline), not only a colour change.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
});

test('a swipe at the emulated panel appears on the Events page without a reload', async () => {
  await page.getByRole('link', { name: 'Events', exact: true }).click();
  await page.getByRole('heading', { name: 'Live event feed' }).waitFor();
  await page.evaluate(() => ((window).__sameDocument = 42));
  // The person reaches the panel through the sync engine; the panel's script then swipes the card.
  await bench.api('POST', '/persons', { pin: '7001', name: 'Ria Example', cards: ['4242'], access_levels: [level.id] });
  const row = page.locator('table.events tbody tr', { has: page.locator('a[data-pin="7001"]') });
  await row.first().waitFor({ timeout: 60000 });
  assert.match(await row.first().innerText(), /Ria Example/);
  assert.equal(await page.evaluate(() => (window).__sameDocument), 42, 'no reload happened');
  await shot(page, 'events');
});

test('opening a door from the board changes the emulated door state on the board', async () => {
  await page.getByRole('link', { name: 'Live', exact: true }).click();
  const tile = page.locator(`li[data-sn="${SN}"][data-door="2"]`);
  await tile.locator('[data-relay="connected"]').waitFor({ timeout: 20000 });
  await tile.getByLabel(/Seconds to open/).fill('6');
  await tile.getByRole('button', { name: 'Open', exact: true }).click();
  // The panel ran CONTROL DEVICE 01020106 and reported its relay released (rtstate), live.
  await tile.locator('[data-relay="disconnected"]').waitFor({ timeout: 20000 });
  await tile.getByText(/Open: done/).waitFor({ timeout: 20000 });
  await shot(page, 'door-open');
  // And locked again once the 6 seconds are over.
  await tile.locator('[data-relay="connected"]').waitFor({ timeout: 20000 });
});

test('1,000 persons imported from a CSV file are synced to the panel', async () => {
  await page.getByRole('link', { name: 'People', exact: true }).click();
  const rows = ['pin,name,cards,access_levels'];
  for (let i = 1; i <= 1000; i++) rows.push(`${10000 + i},Person ${i},${800000 + i},${level.id}`);
  rows.push('bad pin!,Broken row,,');
  await page.locator('input[name=csv]').setInputFiles({ name: 'persons.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n') + '\n') });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByTestId('import-summary').filter({ hasText: '1000 created' }).waitFor({ timeout: 60000 });
  await page.getByRole('table', { name: 'Rows not imported' }).getByRole('cell', { name: 'bad pin!', exact: true }).waitFor();
  await shot(page, 'people-import');
  // The devices table shows the panel in sync with every person (1001, with Ria) and their rules,
  // updated live by the sync engine's progress messages.
  await page.getByRole('link', { name: 'Live', exact: true }).click();
  const cell = page.getByRole('table', { name: 'Devices' }).locator(`tr[data-sn="${SN}"]`);
  await until(
    'the panel in sync with 1,001 persons',
    async () => {
      const m = /In sync \((\d+)\)/.exec(await cell.innerText());
      return m && Number(m[1]) >= 1001;
    },
    180000,
    500,
  );
  // The panel really holds them: the last one's card, swiped there, opened the door (event 0).
  const swiped = await until('the imported card opening door 2', async () => (await bench.api('GET', '/events?pin=11000&event=0'))[0], 110000);
  assert.equal(swiped.door, 2, JSON.stringify(swiped));
  assert.equal(swiped.person_name, 'Person 1000');
  // One of them, on the person's page: applied on the panel.
  await page.goto(`${bench.base}/#/people/10500`);
  await page.getByRole('table', { name: 'Sync state per panel' }).getByText('applied').waitFor({ timeout: 20000 });
  await shot(page, 'person');
});

test("a finger enrolled from the person's page at the emulated panel becomes their credential", async () => {
  await page.goto(`${bench.base}/#/people/7001`);
  const form = page.getByRole('form', { name: 'Enrol at a panel' });
  await form.getByLabel('Panel').selectOption(SN);
  await form.getByLabel('Finger (0-9)').fill('6');
  await form.getByRole('button', { name: 'Enrol' }).click();
  await page.getByTestId('enrol-state').filter({ hasText: `Enrolled at ${SN}.` }).waitFor({ timeout: 30000 });
  const row = page.getByRole('table', { name: 'Credentials' }).getByRole('row').filter({ hasText: 'fingerprint' });
  await row.filter({ hasText: SN }).waitFor({ timeout: 10000 });
  assert.match(await row.first().innerText(), /6/);
  const person = await bench.api('GET', '/persons/7001');
  assert.ok(person.credentials.some((c) => c.type === 'fingerprint' && c.finger === 6 && c.enrolled_at === SN), JSON.stringify(person.credentials));
});

test('an anti-passback zone made on the Configuration page: who is inside after a remote decision, and a reset', async () => {
  // A second panel that asks the server for every card (remote identification), Ria's card swiped
  // at its door 1 every second.
  const GATE = 'UIQ000001';
  bench.panel('gate', 'UIQ', ['wait online timeout=60s', ...Array.from({ length: 300 }, () => ['sleep 1s', 'swipe card=4242 door=1']).flat(), ''].join('\n'), 'inbio460', ['--remote-auth']);
  await until('the gate panel online', async () => (await bench.api('GET', '/devices')).some((d) => d.sn === GATE && d.online), 60000);
  const gate = await bench.api('POST', '/access-levels', { name: 'Gate', time_rule_id: 1, doors: [{ sn: GATE, door: 1 }] });
  await bench.api('PATCH', '/persons/7001', { access_levels: [level.id, gate.id] });

  await page.goto(`${bench.base}/#/config/zones`);
  const form = page.getByRole('region', { name: 'Add a zone' });
  await form.getByLabel('Name').fill('Lab');
  await form.getByLabel('Panel').selectOption(GATE);
  await form.getByLabel('Door').fill('1');
  await form.getByLabel('Direction').selectOption('in');
  await form.getByRole('button', { name: 'Add door' }).click();
  await form.getByLabel('Door').fill('2');
  await form.getByLabel('Direction').selectOption('out');
  await form.getByRole('button', { name: 'Add door' }).click();
  await form.getByRole('button', { name: 'Add zone' }).click();
  const row = page.getByRole('table', { name: 'Anti-passback zones' }).getByRole('row').filter({ hasText: 'Lab' });
  await row.waitFor({ timeout: 10000 });
  assert.match(await row.innerText(), new RegExp(`${GATE} door 1 \\(entry\\), ${GATE} door 2 \\(exit\\)`));
  const zone = (await bench.api('GET', '/apb-zones')).find((z) => z.name === 'Lab');
  assert.deepEqual(zone.doors, [{ sn: GATE, door: 1, direction: 'in' }, { sn: GATE, door: 2, direction: 'out' }]);

  // The swipes: the first is granted and Ria is inside; the next ones are refused (event 24).
  await until('Ria inside the Lab', async () => (await bench.api('GET', `/apb-zones/${zone.id}/presence`)).some((p) => p.pin === '7001' && p.inside), 30000);
  await until('an anti-passback refusal', async () => (await bench.api('GET', `/events?sn=${GATE}&event=24`)).length > 0, 30000);
  await row.getByRole('button', { name: 'Who is inside' }).click();
  const presence = page.getByRole('table', { name: 'Presence in Lab' });
  await presence.getByRole('row').filter({ hasText: '7001' }).filter({ hasText: 'inside' }).waitFor({ timeout: 10000 });
  await presence.getByRole('row').filter({ hasText: '7001' }).getByRole('button', { name: 'Reset' }).click();
  await page.getByText('Person 7001 reset in Lab').waitFor({ timeout: 10000 });
  await shot(page, 'zones-presence');
  await bench.api('DELETE', `/apb-zones/${zone.id}`);
});

test('a viewer token sees the board and the people but no controls', async () => {
  const viewer = await bench.api('POST', '/tokens', { name: 'guard desk', role: 'viewer' });
  const p = await bench.page();
  await bench.signIn(p, viewer.token);
  await p.getByText('guard desk · viewer').waitFor();
  await p.locator(`li[data-sn="${SN}"][data-door="1"]`).waitFor();
  assert.equal(await p.getByRole('button', { name: 'Open', exact: true }).count(), 0, 'no door button');
  assert.equal(await p.locator('.door-actions').count(), 0, 'no door controls at all');
  await p.getByRole('link', { name: 'People', exact: true }).click();
  await p.getByRole('table', { name: 'Persons' }).waitFor();
  assert.equal(await p.getByRole('button', { name: 'Add a person' }).count(), 0);
  assert.equal(await p.locator('input[name=csv]').count(), 0, 'no import');
  await p.goto(`${bench.base}/#/config/access-levels`);
  await p.getByRole('table', { name: /Doors by access level/ }).waitFor();
  assert.equal(await p.getByRole('button', { name: /Add an access level|Edit|Delete/ }).count(), 0);
  await shot(p, 'viewer-live');
  // Every page as a viewer: nothing the console asks for is refused (it asks only what the role may
  // read), and no trace link (an operator's tool).
  for (const [, hash, heading] of pages) {
    await p.goto(`${bench.base}/${hash}`);
    await p.getByRole('heading', { name: hash.startsWith('#/insight') ? 'Events per hour' : heading, exact: true }).first().waitFor();
    await until(`${hash} loaded`, async () => (await p.getByText(/^Loading /).count()) === 0, 20000, 100);
  }
  assert.equal(await p.getByRole('link', { name: /Wire trace/ }).count(), 0);
  assert.deepEqual(p.failures, []);
  await p.context().close();
});

const pages = [
  ['live', '#/live', 'Devices'],
  ['events', '#/events', 'Live event feed'],
  ['people', '#/people', 'Persons'],
  ['person', '#/people/7001', 'On the panels'],
  ['time-rules', '#/config/time-rules', 'Time rules'],
  ['holidays', '#/config/holidays', 'Holidays'],
  ['access-levels', '#/config/access-levels', 'Access levels'],
  ['doors', '#/config/doors', 'Door parameters'],
  ['zones', '#/config/zones', 'Anti-passback zones'],
  ['approval', '#/config/approval', 'Devices waiting for approval'],
  ['device-settings', '#/config/devices', 'Device settings'],
  ['tokens', '#/config/tokens', 'API tokens'],
  ['webhooks', '#/config/webhooks', 'Webhooks'],
  ['insight', '#/insight', 'Events per hour'],
  ['trace', `#/insight/trace/${SN}`, `Wire trace of ${SN}`],
];

async function axe(p) {
  await p.evaluate(axeSource);
  const result = await p.evaluate(() =>
    (window).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
  );
  assert.ok(result.passes.length > 10, 'axe ran its rules');
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
}

test('every page: no serious accessibility violation (axe-core), and a screenshot', async () => {
  await bench.api('POST', '/holidays', { name: 'Founders day', start: new Date().toISOString().slice(0, 10), type: 2 });
  await bench.api('POST', '/time-rules', {
    name: 'Office hours',
    segments: { mon: [['08:00', '18:00']], tue: [['08:00', '18:00']], wed: [['08:00', '12:00'], ['13:00', '18:00']], thu: [['08:00', '18:00']], fri: [['08:00', '16:00']] },
  });
  // Ria's photo, shown on her page from GET /persons/7001/photo through a blob: URL.
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
  await bench.api('POST', '/persons/7001/credentials', { type: 'photo', photo: png });
  await page.goto(`${bench.base}/#/people/7001`);
  await page.reload(); // the same hash as before: reloaded, so that the person is read again
  const photo = page.getByRole('img', { name: 'Photo of Ria Example' });
  await photo.waitFor();
  await until('the photo decoded', async () => photo.evaluate((img) => img.complete && img.naturalWidth === 1), 10000);
  const found = [];
  for (const [name, hash, heading] of pages) {
    await page.goto(`${bench.base}/${hash}`);
    await page.getByRole('heading', { name: heading, exact: true }).first().waitFor({ timeout: 20000 });
    // Loaded: no "Loading …" left (the live stream keeps a request open, so the network is never idle).
    await until(`${name} loaded`, async () => (await page.getByText(/^Loading /).count()) === 0, 20000, 100);
    await page.waitForTimeout(200);
    await shot(page, name);
    for (const v of await axe(page)) found.push(`${name}: ${v}`);
  }
  // The sign-in page too, and the console on a tablet.
  const fresh = await bench.page({ width: 820, height: 1180, touch: true });
  await fresh.goto(`${bench.base}/`);
  await fresh.locator('input[name=token]').waitFor();
  for (const v of await axe(fresh)) found.push(`login: ${v}`);
  await bench.signIn(fresh);
  await fresh.getByRole('table', { name: 'Devices' }).waitFor();
  await shot(fresh, 'tablet-live');
  for (const v of await axe(fresh)) found.push(`tablet live: ${v}`);
  await fresh.context().close();
  assert.deepEqual(found, []);
});

test('an operator controls doors but sees no tokens; a revoked token is back at the login', async () => {
  const operator = await bench.api('POST', '/tokens', { name: 'night shift', role: 'operator' });
  const p = await bench.page();
  await bench.signIn(p, operator.token);
  await p.locator(`li[data-sn="${SN}"][data-door="1"]`).getByRole('button', { name: 'Open', exact: true }).waitFor();
  await p.goto(`${bench.base}/#/config/tokens`);
  await p.getByText('Only an admin token can see and change this.').waitFor();
  assert.equal(await p.getByRole('button', { name: 'Make token' }).count(), 0);
  await bench.api('DELETE', `/tokens/${operator.id}`);
  // The next call is refused (401): the console forgets the token and shows the login.
  await p.goto(`${bench.base}/#/people`);
  await p.reload();
  await p.locator('input[name=token]').waitFor({ timeout: 10000 });
  assert.equal(await p.evaluate(() => sessionStorage.length), 0, 'the token is forgotten');
  await p.context().close();
});

test('the console requested nothing from any host but the server, and no call failed', async () => {
  const origin = new URL(bench.base).origin;
  const foreign = page.requested.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, []);
  assert.ok(page.requested.length > 10);
  assert.deepEqual(page.requested.filter((u) => u.includes(bench.admin)), [], 'the token is in no URL');
  // The only failure is the wrong token tried at the first login.
  assert.deepEqual(page.failures, [`401 GET ${origin}/api/v1/me`]);
  const errors = page.consoleErrors.filter((e) => !/status of 401/.test(e));
  assert.deepEqual(errors, []);
});

test('the server sends the console with a strict CSP, caching headers and gzip', async () => {
  const index = await fetch(`${bench.base}/`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(index.status, 200);
  const csp = index.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.match(index.headers.get('cache-control') ?? '', /no-cache/);
  const html = await index.text();
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, 'index.html names its script');
  const js = await fetch(`${bench.base}${script}`, { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  assert.equal(js.headers.get('content-encoding'), 'gzip');
});
