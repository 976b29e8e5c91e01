// End-to-end test of the browser app: Debian's chromium driven by playwright-core against the real
// `podpromo serve` on loopback, checking the server's state after each step. Uploads a synthesised episode with a
// real-length file name through the page and watches it finish over server-sent events. Then a podcaster's week,
// in the order the issue (20) gives, on one episode of a show's feed, first at 1280 px and then at 390 px: follow
// the feed, pick its episode, fix a word, set the show's look, trim (the score change shown), switch platform
// (nothing lost), render, download all. On the way: playing, seeking, naming speakers, post text, feedback,
// soundbites, the EDL, the dashboard. Screenshots at phone and desktop width go to $ARTIFACTS.
//
// Environment: PODPROMO_BINARY, MAKE_EPISODE (the test episode synthesiser), TEST_DATA (tests/data),
// WEB_DIST (the built app), ARTIFACTS (where screenshots go).
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const binary = env('PODPROMO_BINARY');
const artifacts = env('ARTIFACTS');
rmSync(artifacts, { recursive: true, force: true });
mkdirSync(artifacts, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'podpromo-web-'));
const step = (what) => console.log(`[e2e] ${new Date().toISOString().slice(11, 19)} ${what}`);

// A 90-second episode: small talk around the three strong moments of the business interview script.
const script = readFileSync(join(env('TEST_DATA'), 'business_interview.tsv'), 'utf8').split('\n');
const rows = script.filter((l) => l && !l.startsWith('#'));
// Two voices far apart in pitch (two of its lines spoken by flite's female voice), so the speakers are told apart.
const voiced = (i) => ([11, 12].includes(i) ? rows[i].replace(/^[a-z]+\t/, 'slt\t') : rows[i]);
writeFileSync(join(work, 'episode.tsv'), [0, 4, 5, 11, 12, 15].map(voiced).join('\n') + '\n');
execFileSync(env('MAKE_EPISODE'), [join(work, 'episode.tsv'), join(work, 'Founder Stories.wav')]);
writeFileSync(join(work, 'notes.txt'), 'these are my show notes, not a recording\n');
// A real file name: 60 characters and not one space (an upload's title is its name).
const longStem = 'Founder_Stories_Ep214_WhyEveryFounderShouldFireThemselvesNow';
assert.equal(longStem.length, 60);
const longWav = join(work, `${longStem}.wav`);
copyFileSync(join(work, 'Founder Stories.wav'), longWav);

// The show's own web server: its RSS feed (one episode, a long real-world title, a transcript and a guest) and the
// episode's audio, on loopback, which the service is told it may reach (FEED_PRIVATE_HOSTS).
const longTitle = 'Episode 214 — Why every founder should fire themselves from the sales job (with Grace)';
const feedServer = createServer((req, res) => {
  const origin = `http://127.0.0.1:${feedServer.address().port}`;
  if (req.url === '/feed.xml') {
    res.writeHead(200, { 'Content-Type': 'application/rss+xml', ETag: '"1"' });
    res.end(`<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Founder Stories</title><item><title>${longTitle}</title><guid>ep-214</guid>
<pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate><enclosure url="${origin}/ep214.wav" type="audio/wav" length="1"/>
<podcast:transcript url="${origin}/ep214.vtt" type="text/vtt"/><podcast:person role="guest">Grace Hopper</podcast:person>
</item></channel></rss>`);
  } else if (req.url === '/ep214.wav') {
    res.writeHead(200, { 'Content-Type': 'audio/wav' });
    res.end(readFileSync(join(work, 'Founder Stories.wav')));
  } else if (req.url === '/ep214.vtt') {
    // The show's own transcript: the script's lines, 11 s each, with its speakers as a host's tool names them (the
    // episode is 72 s; the words need not match the audio's times here).
    const stamp = (t) => `00:${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}.000`;
    const lines = [0, 4, 5, 11, 12, 15].map((i) => voiced(i).split('\t'))
      .map(([voice, , , text]) => `<v Speaker ${voice === 'slt' ? 2 : 1}>${text}`);
    res.writeHead(200, { 'Content-Type': 'text/vtt' });
    res.end(`WEBVTT\n\n${lines.map((l, i) => `${stamp(i * 11)} --> ${stamp(i * 11 + 10)}\n${l}\n`).join('\n')}`);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
const feedUrl = `http://127.0.0.1:${feedServer.address().port}/feed.xml`;

// The server on a free port, with its own data directory.
const server = spawn(binary, ['serve', '--port', '0', '--data-dir', join(work, 'data')], {
  // The test's page polls (waitForFunction) far faster than the app does: a generous rate limit.
  env: { ...process.env, WEB_DIR: env('WEB_DIST'), LOG_FORMAT: 'json', MAX_CONCURRENT_JOBS: '2',
    RATE_LIMIT_REQUESTS: '100000', FEED_PRIVATE_HOSTS: '127.0.0.1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverLog = '';
server.stderr.on('data', (d) => { serverLog += d; });
// Its first start prints the URL and a one-time link that signs the administrator in.
const [base, firstLink] = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error(`the server did not start:\n${serverLog}`)), 30000);
  server.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/serving on (http:\/\/[0-9.]+:\d+)\//);
    const link = out.match(/(http:\/\/\S+\/signin\?token=[a-z2-7]+)/);
    if (m && link) {
      clearTimeout(timer);
      resolve([m[1], link[1]]);
    }
  });
  server.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${serverLog}`)));
});
// The API as a script calls it, with the key the administrator makes on the Account page below.
let apiKey = '';
const auth = () => ({ Authorization: `Bearer ${apiKey}` });
const apiGet = async (path) => {
  const r = await fetch(base + path, { headers: auth() });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  return r.json();
};

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
    '--no-first-run', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
});
const problems = [];
function watch(page, name) {
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    // The refusals of notes.txt and blip.wav, of a stale word fix, and of signing in with a wrong password or none, are expected: Chromium logs them as failed resource loads.
    if (m.type() === 'error' && !/status of (401|409|415|422)/.test(m.text())) problems.push(`${name}: console: ${m.text()}`);
  });
}
async function noHorizontalScroll(page, what) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width + 1, `${what}: the page is ${scroll}px wide in a ${width}px window`);
}
// The width x height of each video `videos` finds, from its metadata.
const videoSizes = (videos) => videos.evaluateAll((vs) => Promise.all(vs.map((v) => new Promise((resolve) => {
  const done = () => resolve(`${v.videoWidth}x${v.videoHeight}`);
  if (v.readyState >= 1) done();
  v.addEventListener('loadedmetadata', done);
  v.addEventListener('error', () => resolve('error'));
  v.load();
}))));
// A half-size 9:16 still's pixels (an <img>, read through a canvas) where the show's logo and colour should be: the
// safe zone's top right is at 450, 110 and the logo's box is 65 px from there; the corner is background.
const pixelsOf = (img) => img.evaluate((i) => {
  const c = document.createElement('canvas');
  [c.width, c.height] = [i.naturalWidth, i.naturalHeight];
  const g = c.getContext('2d');
  g.drawImage(i, 0, 0);
  return [[420, 155], [5, 5]].map(([x, y]) => [...g.getImageData(x, y, 1, 1).data.slice(0, 3)]);
});
function assertShowsLook([logoPixel, cornerPixel], what) {
  assert.ok(logoPixel[1] > 180 && logoPixel[0] < 90, `${what}: the logo's green at the top right: ${logoPixel}`);
  assert.ok(Math.abs(cornerPixel[2] - 0x80) < 30 && Math.abs(cornerPixel[0] - 0x20) < 30,
    `${what}: the show's colour behind: ${cornerPixel}`);
}
// "All clips (ZIP)" on `p`: one archive, whole (its checksums hold), with a video for each of episode `id`'s clips.
async function downloadsAll(p, id, what) {
  const [zip] = await Promise.all([p.waitForEvent('download'), p.locator('.exports a[data-format=zip]').click()]);
  assert.ok(zip.suggestedFilename().endsWith(' clips.zip'), zip.suggestedFilename());
  const names = execFileSync('python3', ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\n'
    + 'assert z.testzip() is None\nprint("\\n".join(z.namelist()))', await zip.path()], { encoding: 'utf8' }).split('\n');
  const videos = (await apiGet(`/api/v1/episodes/${id}`)).clips.filter((c) => c.files.video).length;
  assert.ok(videos >= 3, `${what}: clips made, trimmed and rendered: ${videos}`);
  assert.equal(names.filter((n) => n.endsWith('.mp4')).length, videos, `${what}: every clip's video: ${names}`);
}

let failed = false;
let page = null;
try {
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await desktop.newPage();
  watch(page, 'desktop');
  page.setDefaultTimeout(30000);

  step('upload through the page: the keyboard opens the picker; an episode and a text file at once');
  // Listening before the page loads: Playwright turns on file-chooser interception when the first listener
  // is added, and a chooser opened before that is a real (invisible) dialog instead of an event.
  const choosers = [];
  page.on('filechooser', (c) => choosers.push(c));

  step('sign in from the printed one-time link; set a password; make an API key');
  assert.equal((await fetch(base + '/api/v1/episodes')).status, 401, 'nothing private answers without signing in');
  await page.goto(firstLink);
  await page.locator('h1', { hasText: 'Account' }).waitFor();
  assert.ok(!page.url().includes('token'), 'the link\'s token leaves the address bar');
  await page.locator('#pw-new').fill('a long enough password');
  await page.locator('form', { hasText: 'Set a password' }).locator('button[type=submit]').click();
  await page.getByText('Password changed').waitFor();
  await page.locator('#key-name').fill('e2e script');
  await page.locator('#scope-render').uncheck();
  await page.locator('form', { hasText: 'Create key' }).locator('button[type=submit]').click();
  apiKey = await page.locator('.secret').getAttribute('data-key');
  assert.match(apiKey, /^pp_[a-z2-7]{8}_[a-z2-7]{32}$/);
  await page.locator('table.keys tbody tr').filter({ hasText: 'e2e script' }).waitFor();
  assert.equal((await apiGet('/api/v1/me')).scopes, 'read,write', 'the key has the scopes ticked');
  assert.equal((await fetch(base + '/api/v1/keys', { headers: auth() })).status, 403, 'a key cannot manage keys');
  await page.screenshot({ path: join(artifacts, 'desktop-account.png'), fullPage: true });
  const reused = await (await browser.newContext()).newPage();
  await reused.goto(firstLink);
  await reused.locator('#signin-name').waitFor();
  await reused.getByText('not valid').waitFor();
  await reused.close();

  await page.goto(base + '/');
  // The vocabulary hint goes with the upload (and is remembered for the next one).
  await page.locator('input[name=show]').fill('Founder Stories Weekly');
  await page.locator('input[name=terms]').fill('Okonkwo, Kubernetes');
  await page.locator('input[name=clips]').fill('1'); // (each clip is a render; the ranking is seen on the feed's episode)
  await page.locator('[data-testid=drop]').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => true); // a round trip, for the chooser event to arrive
  for (let i = 0; i < 100 && !choosers.length; i++) await page.waitForTimeout(50);
  assert.equal(choosers.length, 1, 'Enter on the upload area opens the file picker');
  await choosers[0].setFiles([longWav, join(work, 'notes.txt')]);
  const refused = page.locator('li.upload.refused');
  await refused.waitFor();
  assert.match(await refused.textContent(), /^notes\.txt.*Wrong type: .*not an audio or video file/i);
  await page.locator('li.upload.ok').waitFor();
  let episodes = await apiGet('/api/v1/episodes');
  assert.equal(episodes.total, 1, 'the server kept the episode and refused the text file');
  const episodeId = episodes.items[0].id;
  assert.equal(episodes.items[0].title, longStem, 'an upload is titled by its file name');
  assert.deepEqual((await apiGet(`/api/v1/episodes/${episodeId}`)).job.vocabulary, { show: 'Founder Stories Weekly', terms: ['Okonkwo', 'Kubernetes'] },
    'the show name and terms went with the upload');

  step('drag and drop: a dropped file is uploaded too (this one is refused as too short to clip)');
  await page.evaluate(() => {
    const dt = new DataTransfer();
    const wav = new Uint8Array(44 + 3200);
    const view = new DataView(wav.buffer);
    const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
    text(0, 'RIFF'); view.setUint32(4, 36 + 3200, true); text(8, 'WAVE'); text(12, 'fmt ');
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, 16000, true); view.setUint32(28, 32000, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); text(36, 'data'); view.setUint32(40, 3200, true);
    for (let i = 0; i < 1600; i++) view.setInt16(44 + 2 * i, Math.round(8000 * Math.sin(i / 5)), true);
    dt.items.add(new File([wav], 'blip.wav', { type: 'audio/wav' }));
    const drop = document.querySelector('[data-testid=drop]');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      drop.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    }
  });
  await page.locator('li.upload.refused', { hasText: 'blip.wav' }).waitFor();
  assert.match(await page.locator('li.upload.refused', { hasText: 'blip.wav' }).textContent(), /Cannot be used/);
  assert.equal((await apiGet('/api/v1/episodes')).total, 1);

  step('watch it finish over server-sent events (no reload)');
  const row = page.locator(`tr[data-episode=${episodeId}]`);
  await row.locator('[data-status=processing]').waitFor({ timeout: 120000 });
  await page.screenshot({ path: join(artifacts, 'desktop-processing.png') });
  await row.locator('[data-status=ready]').waitFor({ timeout: 300000 });
  episodes = await apiGet('/api/v1/episodes');
  assert.equal(episodes.items[0].status, 'ready');
  const made = (await apiGet(`/api/v1/episodes/${episodeId}`)).clips.length;
  assert.equal(episodes.items[0].clips_made, made);
  assert.equal(await row.locator('[data-clips]').getAttribute('data-clips'), String(made),
    'the Clips column counts the clips made, not the number asked for');
  const heard = (await apiGet(`/api/v1/episodes/${episodeId}/transcript`)).segments.map((x) => x.speaker);
  assert.ok(heard.some((x) => /^S\d$/.test(x)), `speakers told apart by their voices are S1, S2…: ${heard}`);
  await page.screenshot({ path: join(artifacts, 'desktop-episodes.png'), fullPage: true });

  step('the same file sent again is the same episode; a second upload, cancelled while it waits, then deleted');
  await page.locator('#file-input').setInputFiles(longWav);
  await page.locator('li.upload.ok', { hasText: 'already uploaded' }).waitFor();
  assert.equal((await apiGet('/api/v1/episodes')).total, 1, 'no second episode for the same file');
  copyFileSync(join(work, 'Founder Stories.wav'), join(work, 'Founder Stories, part 2.wav'));
  await page.locator('#file-input').setInputFiles(join(work, 'Founder Stories, part 2.wav'));
  await page.waitForFunction(() => document.querySelectorAll('li.upload.ok').length === 3);
  episodes = await apiGet('/api/v1/episodes');
  assert.equal(episodes.total, 2);
  const secondId = episodes.items.find((e) => e.id !== episodeId).id;
  const second = page.locator(`tr[data-episode=${secondId}]`);
  await second.locator('[data-action=cancel]').click();
  await second.locator('[data-status=cancelled]').waitFor({ timeout: 60000 });
  assert.equal((await apiGet(`/api/v1/episodes/${secondId}`)).job.state, 'cancelled');
  page.once('dialog', (d) => d.accept());
  await second.locator('[data-action=delete]').click();
  await second.waitFor({ state: 'detached' });
  episodes = await apiGet('/api/v1/episodes');
  assert.deepEqual(episodes.items.map((e) => e.id), [episodeId], 'the server forgot the deleted episode');

  // ---- A podcaster's week, in the issue's order, on one episode of the show's feed. ----
  step('1. follow the show\'s feed: its episode, the feed\'s transcript and guest, the last read');
  await page.goto(base + '/#/shows');
  await page.locator('[data-testid=follow] input[name=feed_url]').fill(feedUrl);
  await page.locator('[data-testid=follow] input[name=clips]').fill('2');
  await page.locator('[data-testid=follow] button[type=submit]').click();
  const itemRow = page.locator('tr[data-guid="ep-214"]');
  await itemRow.waitFor();
  assert.match(await itemRow.textContent(), /transcript/, 'the feed\'s own transcript is named');
  assert.match(await itemRow.textContent(), /Grace Hopper/);
  assert.match(await page.locator('[data-testid=poll]').textContent(), /Read just now/);
  const [followed] = (await apiGet('/api/v1/shows')).shows;
  assert.equal(followed.title, 'Founder Stories');
  assert.equal(followed.settings.clips, '2');
  await page.screenshot({ path: join(artifacts, 'desktop-shows.png'), fullPage: true });

  step('2. pick its episode: made from the feed\'s own words, its clips ranked and explained');
  await itemRow.locator('[data-testid=make-clips]').click();
  await page.waitForURL(/#\/episodes\/ep_/);
  const fromFeed = page.url().match(/episodes\/(ep_[a-z0-9]+)/)[1];
  await page.locator('[data-testid=not-ready]').waitFor(); // no player before it is downloaded and analysed
  assert.equal((await apiGet(`/api/v1/shows/${followed.id}`)).items[0].episode_id, fromFeed, 'the item is linked to it');
  await page.locator('[data-testid=waveform] [part~="region"]').first().waitFor({ timeout: 240000 });
  const doc = await apiGet(`/api/v1/episodes/${fromFeed}`);
  assert.equal(doc.transcript.engine, 'feed:import:vtt', 'no recognition: the feed\'s transcript');
  assert.equal(await page.locator('h1.episode-title').textContent(), longTitle);
  assert.equal(doc.clips.length, 2, 'the clips the show asks for');
  assert.equal(await page.locator('.card').count(), doc.clips.length);
  assert.equal(await page.locator('.card').first().locator('h3').textContent(), doc.clips[0].title);
  assert.ok(await page.locator('.card').first().locator('.why li').count() >= 1, 'the score is explained');
  assert.ok(await page.locator('.card').first().locator('.bars meter').count() >= 4, 'feature bars');

  step('rename the episode in place; play a clip; click a word of the transcript to seek there');
  await page.locator('[data-action=rename]').click();
  await page.locator('input.title-input').fill('Founder Stories, episode 214');
  await page.locator('input.title-input').press('Enter');
  await page.locator('h1.episode-title', { hasText: 'Founder Stories, episode 214' }).waitFor();
  assert.equal((await apiGet(`/api/v1/episodes/${fromFeed}`)).episode.title, 'Founder Stories, episode 214');
  const first = doc.clips[0];
  const clipId = first.id;
  await page.locator('.card').first().locator('[data-action=play]').click();
  await page.waitForFunction((s) => {
    const a = document.querySelector('audio');
    return a && !a.paused && a.currentTime > s + 0.3;
  }, first.start, { timeout: 20000 });
  await page.locator('audio').evaluate((a) => a.pause());
  const words = doc.transcript.segments.flatMap((x) => x.words);
  const target = words[Math.floor(words.length / 2)];
  await page.locator(`.word[data-start="${target.start}"]`).first().click();
  const at = await page.locator('audio').evaluate((a) => a.currentTime);
  assert.ok(Math.abs(at - target.start) < 0.05, `seeked to ${at}, wanted ${target.start}`);

  step('name the speakers the feed\'s transcript marks, from the people the feed names');
  const who = page.locator('details.speakers[open]');
  await who.waitFor();
  assert.match(await who.textContent(), /The feed names Grace Hopper \(guest\)/);
  assert.deepEqual(await who.locator('datalist option').evaluateAll((os) => os.map((o) => o.value)), ['Grace Hopper']);
  await who.locator('input[data-speaker="Speaker 2"]').fill('Grace Hopper');
  await who.locator('[data-action=name-speakers]').click();
  await page.locator('.transcript .speaker', { hasText: 'Grace Hopper' }).first().waitFor();
  const named = (await apiGet(`/api/v1/episodes/${fromFeed}/transcript`)).segments.map((x) => x.speaker);
  assert.ok(named.includes('Grace Hopper') && !named.includes('Speaker 2'), `every segment of theirs is named: ${named}`);
  await page.locator('[data-testid=waveform] [part~="region"]').first().waitFor(); // (the page was read again)

  step('3. fix a word of the transcript in place: the clip holding it renders again with the new word');
  const inClip = words.find((w) => w.start > first.start + 0.5 && w.end < first.end - 0.5 && /^[a-z]{2,5}$/i.test(w.word));
  assert.ok(inClip, 'a short word inside the first clip');
  await page.locator('[data-action=fix-words]').click();
  await page.locator('.fix-hint').waitFor();
  await page.locator(`.word[data-start="${inClip.start}"]`).first().click();
  await page.locator('input.word-input').fill('Extraordinarily');
  const [patched] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/v1/episodes/${fromFeed}/transcript`) && r.request().method() === 'PATCH'),
    page.locator('input.word-input').press('Enter')]);
  const fixed = await patched.json();
  assert.equal(patched.status(), 200, JSON.stringify(fixed));
  assert.ok(fixed.clips.includes(clipId), 'the rendered clip holding the word is made again');
  await page.locator('.word', { hasText: 'Extraordinarily' }).first().waitFor();
  await page.screenshot({ path: join(artifacts, 'desktop-word-fixed.png') });
  // The page reads the episode again once the renders end (the switch is off again then).
  await page.locator('[data-action=fix-words][aria-pressed="false"]').waitFor({ timeout: 240000 });
  for (const job of fixed.jobs) assert.equal((await apiGet(`/api/v1/jobs/${job.id}`)).state, 'succeeded');
  const fixedSrt = await fetch(base + (await apiGet(`/api/v1/clips/${clipId}`)).files.srt, { headers: auth() }).then((r) => r.text());
  assert.match(fixedSrt, /Extraordinarily/, 'the clip\'s captions carry the fixed word');
  assert.equal((await apiGet(`/api/v1/episodes/${fromFeed}/transcript?revision=0`)).segments.flatMap((x) => x.words)
    .filter((w) => w.start === inClip.start)[0]?.word, inClip.word, 'the transcript as it came is kept');

  step('the post text for each platform, within its limit, with a copy button');
  const postBox = page.locator(`.card[data-clip="${clipId}"] details.post-text`);
  await postBox.locator('summary').click();
  await postBox.locator('select[name=post-platform]').selectOption('x');
  const xPost = await postBox.locator('textarea').inputValue();
  assert.equal(xPost, (await apiGet(`/api/v1/clips/${clipId}`)).posts.x.text);
  assert.ok([...xPost].length <= 280 && xPost.includes('#'), `a post for X: ${xPost}`);
  await postBox.locator('select[name=post-platform]').selectOption('linkedin');
  assert.match(await postBox.locator('textarea').inputValue(), /“/, 'LinkedIn gets the quoted line');
  assert.equal(await postBox.locator('[data-action=copy-post]').count(), 1);

  step('feedback: like, rate, flag with a reason, comment, star; the server keeps it; the page remembers');
  const card = page.locator(`.card[data-clip="${clipId}"]`);
  await card.locator('[data-action=like]').click();
  await card.locator('select[aria-label=Rating]').selectOption('5');
  const barWords = await card.locator('.bar > span:first-child').allTextContents();
  assert.ok(barWords.length > 0 && !barWords.some((w) => /arousal|loopability|_/.test(w)),
    `the score bars speak plainly: ${barWords.join(', ')}`);
  assert.equal(await card.locator('select[aria-label="Flag reason"]').inputValue(), '', 'no reason chosen for the user');
  await card.locator('select[aria-label="Flag reason"]').selectOption('ends too early');
  await card.locator('[data-action=flag]').click();
  await card.locator('input[aria-label=Comment]').fill('Great hook, tighten the ending');
  await card.locator('[data-action=comment]').click();
  await card.locator('[data-action=star]').click();
  await page.waitForFunction((id) => document.querySelector(`.card[data-clip="${id}"] [data-action=star]`)
    .getAttribute('aria-pressed') === 'true', clipId);
  await page.waitForFunction(async (id) => {
    const c = await (await fetch(`/api/v1/clips/${id}`)).json();
    return c.feedback.comment === 1;
  }, clipId);
  const withFeedback = await apiGet(`/api/v1/clips/${clipId}`);
  assert.deepEqual([withFeedback.feedback.like, withFeedback.feedback.rating, withFeedback.feedback.rating_sum,
    withFeedback.feedback.flag, withFeedback.feedback.comment, withFeedback.starred], [1, 1, 5, 1, 1, true]);
  await page.reload();
  await page.locator(`.card[data-clip="${clipId}"]`).waitFor();
  assert.equal(await page.locator(`.card[data-clip="${clipId}"] [data-action=like]`).getAttribute('aria-pressed'), 'true',
    'the like is remembered');
  assert.match(await page.locator(`.card[data-clip="${clipId}"] .feedback-status`).textContent(), /rated 5\/5/);
  await page.screenshot({ path: join(artifacts, 'desktop-episode.png'), fullPage: true });

  step('4. set the show\'s look: boxed captions at the top, as spoken, on the show\'s colour, with its logo');
  await page.goto(base + '/#/shows');
  await page.locator('.look-panel summary').click();
  const look = page.locator('[data-testid=look]');
  await look.locator('select[name=style]').selectOption('boxed');
  await look.locator('select[name=font] option', { hasText: 'DejaVu Serif' }).first().waitFor({ state: 'attached' });
  await look.locator('select[name=font]').selectOption('DejaVu Serif');
  await look.locator('select[name=position]').selectOption('top');
  await look.locator('select[name=case]').selectOption('as spoken');
  await look.locator('input[name=outline]').fill('4');
  await look.locator('input[name=own_background]').check();
  await look.locator('input[name=background]').fill('#204080');
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=0x00FF00:s=300x300',
    '-frames:v', '1', join(work, 'logo.png')]);
  await look.locator('input[name=logo]').setInputFiles(join(work, 'logo.png'));
  await look.locator('img.logo-thumb:not([hidden])').waitFor();
  await look.locator('button[type=submit]').click();
  await page.getByText('Look saved').waitFor();
  const styled = (await apiGet(`/api/v1/shows/${followed.id}`)).show.settings;
  assert.deepEqual([styled.style, styled.font, styled.position, styled.uppercase, styled.outline, styled.background],
    ['boxed', 'DejaVu Serif', 'top', 'false', '4', '204080'], JSON.stringify(styled));
  assert.ok(styled.logo, 'the logo is kept on the show');
  const logo = await fetch(`${base}/api/v1/shows/${followed.id}/logo`, { headers: auth() });
  assert.equal(logo.headers.get('content-type'), 'image/png');
  const feedOptions = (await apiGet(`/api/v1/episodes/${fromFeed}`)).episode.render_options;
  assert.deepEqual([feedOptions.style, feedOptions.background, Boolean(feedOptions.logo)], ['boxed', '204080', true],
    'the show\'s episode takes its look');
  // The still of the show's newest clip (this episode's), in the look: the logo at the top right, the colour behind.
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=look-still]');
    return img && img.complete && img.naturalWidth > 0 && !img.hidden;
  }, null, { timeout: 60000 });
  assertShowsLook(await pixelsOf(page.locator('[data-testid=look-still]')), 'the look\'s still');
  await page.screenshot({ path: join(artifacts, 'desktop-show-look.png'), fullPage: true });

  step('5. trim the first clip: it snaps to words, its still is in the show\'s look, the score change is shown');
  await page.goto(`${base}/#/episodes/${fromFeed}`);
  const trimmed = await apiGet(`/api/v1/clips/${clipId}`); // (its title and score now read the fixed word)
  await page.locator('.card').first().locator('[data-action=edit]').click();
  const endInput = page.locator('.editor input[name=end]');
  await endInput.waitFor();
  assert.ok(await page.locator('.card').first().evaluate((c) => c.nextElementSibling?.querySelector('.editor') != null),
    'the editor opens right under the clip it edits');
  assert.match(await page.locator('[data-testid=editor-title]').textContent(), /^Edit clip #1: /, 'and names it');
  assert.ok((await page.locator('[data-testid=editor-title]').textContent()).includes(trimmed.title));
  assert.equal(await page.locator('.editor [data-testid=waveform]').count(), 1, 'with the waveform in it');
  const before = Number(await endInput.inputValue());
  const handle = page.locator(`[data-testid=waveform] [part~="${clipId}"] [part~="region-handle-right"]`);
  const box = await handle.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x - 30, box.y + box.height / 2, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction((b) => Number(document.querySelector('.editor input[name=end]').value) < b - 0.2, before);
  const end = Number(await endInput.inputValue());
  const start = Number(await page.locator('.editor input[name=start]').inputValue());
  assert.ok(words.some((w) => Math.abs(w.end - end) < 0.006), `the new end ${end} is a word's end`);
  assert.ok(words.some((w) => Math.abs(w.start - start) < 0.006), `the start ${start} is a word's start`);
  // The still preview, drawn by the server before any render, for the trimmed span: in the show's look.
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=still]');
    return img && img.complete && img.naturalWidth > 0 && img.src.includes('preview');
  });
  assert.deepEqual(await page.locator('[data-testid=still]').evaluate((i) => [i.naturalWidth, i.naturalHeight]), [540, 960],
    'a half-size 9:16 still');
  assertShowsLook(await pixelsOf(page.locator('[data-testid=still]')), 'the editor\'s still');
  const change = page.locator('.score-change[data-after]');
  await change.waitFor();
  assert.equal(Number(await change.getAttribute('data-before')), trimmed.display_score, 'the score before the trim');
  const [asked, askedEnd] = [await change.getAttribute('data-start'), await change.getAttribute('data-end')];
  assert.ok(Math.abs(Number(askedEnd) - end) < 0.006, 'the score is the trimmed span\'s');
  const scoredNow = await apiGet(`/api/v1/episodes/${fromFeed}/clips/score?start=${asked}&end=${askedEnd}&platform=${trimmed.platform}`);
  assert.equal(Number(await change.getAttribute('data-after')), scoredNow.clip.display_score, 'and after it');
  assert.match(await change.textContent(), new RegExp(`^Score ${trimmed.display_score} → ${scoredNow.clip.display_score}`));
  // Typed, the end snaps to a word too. (A short span: each frame of it rendered below costs less of CI's time.)
  await endInput.fill((start + 12).toFixed(2));
  await endInput.dispatchEvent('change');
  await page.waitForFunction((s) => Number(document.querySelector('.editor input[name=end]').value) < s + 14, start);
  const shortEnd = Number(await endInput.inputValue());
  assert.ok(words.some((w) => Math.abs(w.end - shortEnd) < 0.006), `the typed end ${shortEnd} is a word's end`);

  step('6. switch platform and genre: the open trim, the rendered videos and the feedback all stay');
  await page.locator('.heading-row select[name=platform]').selectOption('linkedin');
  await page.locator('.ranking-note').filter({ hasText: 'Ranked for linkedin' }).waitFor();
  await page.locator('.heading-row select[name=genre]').selectOption('comedy');
  await page.locator('.ranking-note').filter({ hasText: 'comedy' }).waitFor();
  const rescored = await apiGet(`/api/v1/episodes/${fromFeed}/clips?platform=linkedin&genre=comedy`);
  const listed = new Set(rescored.items.map((c) => c.id).filter(Boolean));
  assert.equal(await page.locator('.card').count(), rescored.items.length + doc.clips.filter((c) => !listed.has(c.id)).length,
    'the new ranking, and every clip already made under it');
  for (const c of doc.clips) {
    assert.equal(await page.locator(`.card[data-clip="${c.id}"] video`).count(), 1, `clip ${c.id} keeps its video`);
  }
  assert.match(await page.locator(`.card[data-clip="${clipId}"] .feedback-status`).textContent(), /liked/, 'and its feedback');
  assert.ok(await page.locator('.editor').isVisible(), 'the trim being made stays open');
  assert.equal(Number(await endInput.inputValue()), shortEnd, 'with its span');
  assert.equal(await page.locator('.editor select[name=platform]').inputValue(), 'linkedin', 'now for the new platform');
  await noHorizontalScroll(page, 'the episode, switched');

  step('7. render the trimmed span for LinkedIn in two frames at once (square and wide), in the show\'s look');
  assert.equal(await page.locator('.editor select[name=style]').inputValue(), 'boxed', 'the show\'s caption style');
  await page.locator('.editor input[name=aspect][value="9:16"]').uncheck();
  await page.locator('.editor input[name=aspect][value="1:1"]').check();
  await page.locator('.editor input[name=aspect][value="16:9"]').check();
  await page.locator('.editor [data-action=render]').click();
  await page.locator('.editor progress[aria-label="Render progress"]').first().waitFor();
  await page.locator('.editor [data-rendered]').nth(1).waitFor({ timeout: 240000 });
  const renderedIds = await page.locator('.editor [data-rendered]').evaluateAll((l) => l.map((e) => e.dataset.rendered));
  const renderedClips = await Promise.all(renderedIds.map((id) => apiGet(`/api/v1/clips/${id}`)));
  const sizes = await videoSizes(page.locator('.editor video'));
  assert.deepEqual(new Set(sizes), new Set(['1080x1080', '1920x1080']), `a square and a wide video: ${sizes}`);
  assert.equal(renderedClips[0].start, renderedClips[1].start, 'from the same span');
  const squareId = renderedIds[sizes.indexOf('1080x1080')];
  const square = await apiGet(`/api/v1/clips/${squareId}`);
  assert.equal(square.platform, 'linkedin');
  assert.ok(Math.abs(square.end - square.start - (shortEnd - start)) < 1.0, 'the rendered clip is the span chosen (plus breathing room)');
  const squareVideo = page.locator('.render-one', { has: page.locator(`[data-rendered="${squareId}"]`) }).locator('video');
  const [corner] = await squareVideo.evaluate((v) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(['no frame']), 10000);
    v.muted = true;
    v.addEventListener('seeked', () => {
      clearTimeout(timer);
      const c = document.createElement('canvas');
      [c.width, c.height] = [v.videoWidth, v.videoHeight];
      c.getContext('2d').drawImage(v, 0, 0);
      resolve([[...c.getContext('2d').getImageData(5, 5, 1, 1).data.slice(0, 3)]]);
    }, { once: true });
    v.currentTime = 1;
  }));
  assert.ok(Math.abs(corner[2] - 0x80) < 30 && Math.abs(corner[0] - 0x20) < 30, `the video is on the show's colour: ${corner}`);

  step('8. download: the video by its title, its captions, soundbites, an EDL, and all the clips at once');
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.locator('.render-one', { has: page.locator(`[data-rendered="${squareId}"]`) }).locator('[data-download=video]').click()]);
  assert.ok(download.suggestedFilename().endsWith('.mp4') && !download.suggestedFilename().startsWith(squareId),
    `the download is named by the clip's title, not its id: ${download.suggestedFilename()}`);
  const saved = join(work, 'download.mp4');
  await download.saveAs(saved);
  assert.equal(readFileSync(saved).subarray(4, 8).toString(), 'ftyp', 'an MP4 file');
  const srt = await fetch(base + square.files.srt, { headers: auth() }).then((r) => r.text());
  assert.match(srt, /^1\r?\n00:00:0/, 'SRT captions');
  await page.locator('details.soundbites summary').click();
  await page.locator('details.soundbites[data-count]').waitFor();
  const bites = await apiGet(`/api/v1/episodes/${fromFeed}/soundbites`);
  assert.deepEqual(bites.soundbites.map((b) => b.clip_id), [clipId], 'soundbites for the feed: the starred clip');
  assert.equal(await page.locator('details.soundbites textarea').inputValue(), bites.xml);
  assert.match(bites.xml, /^<podcast:soundbite startTime="[0-9.]+" duration="[0-9.]+">[^<]*<\/podcast:soundbite>\n$/);
  const [edlDownload] = await Promise.all([page.waitForEvent('download'),
    page.locator('.exports a[data-format=edl]').click()]);
  assert.ok(edlDownload.suggestedFilename().endsWith('.edl'), edlDownload.suggestedFilename());
  const edl = readFileSync(await edlDownload.path(), 'utf8');
  assert.match(edl, /^TITLE: .+\nFCM: NON-DROP FRAME\n\n001 {2}AX {7}AA {4}C {8}\d\d:\d\d:\d\d:\d\d /, edl);
  assert.equal((edl.match(/^\d{3} /gm) || []).length, 1, 'the EDL: one event, the starred clip');
  await downloadsAll(page, fromFeed, 'desktop');

  step('the dashboard: health, queue, storage, system charts, the feeds\' reads, errors');
  await page.goto(base + '/#/dashboard');
  await page.locator('[data-health]').waitFor();
  await page.locator('.charts svg').first().waitFor();
  assert.ok(await page.locator('.checks li').count() >= 5);
  assert.match(await page.locator('.stats').textContent(), /Workers\s*2/);
  const feedRow = page.locator('[data-testid=feeds] tr', { hasText: 'Founder Stories' });
  await feedRow.waitFor();
  assert.match(await feedRow.textContent(), /Read (just now|\d+ min ago)/, 'the feed\'s last read is on the dashboard');
  await page.screenshot({ path: join(artifacts, 'desktop-dashboard.png'), fullPage: true });

  // ---- The same week at 390 px, on the same show. ----
  step('phone width: every page fits, no sideways scrolling, the 60-character file name too');
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    acceptDownloads: true });
  const small = await phone.newPage();
  watch(small, 'phone');
  await small.goto(`${base}/`);
  await small.locator('#signin-name').fill('admin');
  await small.locator('#signin-password').fill('a long enough password');
  await noHorizontalScroll(small, 'sign-in');
  await small.screenshot({ path: join(artifacts, 'phone-signin.png'), fullPage: true });
  await small.locator('#signin-password').press('Enter');
  await small.locator('tr[data-episode]').first().waitFor();
  for (const [hash, name, ready] of [['#/', 'episodes', 'tr[data-episode]'],
    [`#/episodes/${episodeId}`, 'episode-long-name', '.card'], ['#/dashboard', 'dashboard', '[data-health]'],
    ['#/account', 'account', 'table.keys'], ['#/users', 'users', 'form']]) {
    await small.goto(`${base}/${hash}`);
    await small.locator(ready).first().waitFor();
    await small.waitForTimeout(300);
    await noHorizontalScroll(small, name);
    await small.screenshot({ path: join(artifacts, `phone-${name}.png`), fullPage: true });
  }

  step('phone, 1–2. the show: its feed form and its episode fit; pick the episode');
  await small.goto(`${base}/#/shows`);
  await small.locator('tr[data-guid="ep-214"]').waitFor();
  await small.waitForTimeout(300);
  await noHorizontalScroll(small, 'shows');
  await small.screenshot({ path: join(artifacts, 'phone-shows.png'), fullPage: true });
  await small.goto(`${base}/#/episodes/${fromFeed}`);
  await small.locator('.card').first().waitFor();
  await small.waitForTimeout(300);
  await noHorizontalScroll(small, 'episode');
  await small.screenshot({ path: join(artifacts, 'phone-episode.png'), fullPage: true });

  step('phone, 3. fix a word that no clip holds (nothing renders again)');
  const current = await apiGet(`/api/v1/episodes/${fromFeed}`);
  const loose = current.transcript.segments.flatMap((x) => x.words)
    .find((w) => /^[a-z]{3,}$/i.test(w.word) && current.clips.every((c) => w.end <= c.start || w.start >= c.end));
  assert.ok(loose, 'a word outside every clip');
  await small.locator('[data-action=fix-words]').tap();
  await small.locator(`.word[data-start="${loose.start}"]`).first().tap();
  // Another editor fixes the same word first, by the API. This page's fix is then refused (not put on whatever word is
  // there now), and the page loads the transcript again, showing their word, for the fix to be made on it.
  const segment = current.transcript.segments.findIndex((x) => x.words.includes(loose));
  const rival = await fetch(`${base}/api/v1/episodes/${fromFeed}/transcript`, {
    method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ revision: current.transcript_revision, edits: [{ segment,
      word: current.transcript.segments[segment].words.indexOf(loose), text: 'Notably', was: loose.word }] }),
  });
  assert.equal(rival.status, 200, `the other editor's fix: ${rival.status}`);
  await small.locator('input.word-input').fill('Remarkably');
  const [stale] = await Promise.all([
    small.waitForResponse((r) => r.url().endsWith(`/api/v1/episodes/${fromFeed}/transcript`) && r.request().method() === 'PATCH'),
    small.locator('.word-fix button.primary').tap()]);
  assert.equal(stale.status(), 409, 'a fix of words that changed is refused');
  await small.getByText('The transcript changed since this page read it').waitFor();
  await small.locator('.word', { hasText: 'Notably' }).first().waitFor();
  if (await small.locator('[data-action=fix-words][aria-pressed="false"]').count()) {
    await small.locator('[data-action=fix-words]').tap();
  }
  await small.locator(`.word[data-start="${loose.start}"]`).first().tap();
  assert.equal(await small.locator('input.word-input').inputValue(), 'Notably', 'the word as it is now is opened');
  await small.locator('input.word-input').fill('Remarkably');
  await noHorizontalScroll(small, 'fixing a word');
  const [phonePatch] = await Promise.all([
    small.waitForResponse((r) => r.url().endsWith(`/api/v1/episodes/${fromFeed}/transcript`) && r.request().method() === 'PATCH'),
    small.locator('.word-fix button.primary').tap()]);
  assert.equal(phonePatch.status(), 200);
  assert.deepEqual((await phonePatch.json()).clips, [], 'no clip holds it');
  await small.locator('.word', { hasText: 'Remarkably' }).first().waitFor();
  await small.getByText('No rendered clip holds this word').waitFor();

  step('phone, 4. the show\'s look: its panel fits; a bigger caption size is saved');
  await small.goto(`${base}/#/shows`);
  await small.locator('.look-panel summary').tap();
  const phoneLook = small.locator('[data-testid=look]');
  await phoneLook.locator('input[name=size]').fill('84');
  await noHorizontalScroll(small, 'the look');
  await phoneLook.locator('button[type=submit]').tap();
  await small.getByText('Look saved').waitFor();
  assert.equal((await apiGet(`/api/v1/shows/${followed.id}`)).show.settings.size, '84');
  await small.waitForFunction(() => {
    const img = document.querySelector('[data-testid=look-still]');
    return img && img.complete && img.naturalWidth > 0 && !img.hidden && img.src.includes('size=84');
  });
  assertShowsLook(await pixelsOf(small.locator('[data-testid=look-still]')), 'the phone\'s still');
  await small.screenshot({ path: join(artifacts, 'phone-look.png'), fullPage: true });

  step('phone, 5–6. trim the second clip with the waveform on screen; switch platform: the trim stays');
  await small.goto(`${base}/#/episodes/${fromFeed}`);
  const other = current.clips[1];
  await small.locator(`.card[data-clip="${other.id}"] [data-action=edit]`).tap();
  const phoneWave = await small.locator('.editor [data-testid=waveform]').boundingBox();
  assert.ok(phoneWave && phoneWave.y >= 0 && phoneWave.y + phoneWave.height <= 844,
    `on a phone the editor shows the waveform on screen (${JSON.stringify(phoneWave)})`);
  const phoneStart = Number(await small.locator('.editor input[name=start]').inputValue());
  await small.locator('.editor input[name=end]').fill((phoneStart + 14).toFixed(2));
  await small.locator('.editor input[name=end]').dispatchEvent('change');
  await small.locator('.editor .score-change[data-after]').waitFor();
  const phoneEnd = Number(await small.locator('.editor input[name=end]').inputValue());
  assert.ok(phoneEnd < phoneStart + 16, `trimmed to ${phoneStart}–${phoneEnd}`);
  await noHorizontalScroll(small, 'editor');
  await small.screenshot({ path: join(artifacts, 'phone-editor.png') });
  await small.locator('.heading-row select[name=platform]').selectOption('shorts');
  await small.locator('.ranking-note').filter({ hasText: 'Ranked for shorts' }).waitFor();
  assert.equal(Number(await small.locator('.editor input[name=end]').inputValue()), phoneEnd, 'the trim stays');
  assert.equal(await small.locator(`.card[data-clip="${squareId}"] video`).count(), 1, 'the desktop\'s render stays');

  step('phone, 7–8. render the trim as one vertical clip; download all');
  await small.locator('.editor [data-action=render]').tap();
  await small.locator('.editor [data-rendered]').waitFor({ timeout: 120000 });
  const phoneClip = await apiGet(`/api/v1/clips/${await small.locator('.editor [data-rendered]').getAttribute('data-rendered')}`);
  assert.equal(phoneClip.platform, 'shorts');
  assert.deepEqual(await videoSizes(small.locator('.editor video')), ['1080x1920'], 'one vertical video');
  await downloadsAll(small, fromFeed, 'phone');

  step('caching: hashed assets are immutable, the page itself is revalidated');
  const html = await fetch(base + '/', { headers: { Accept: 'text/html' } });
  assert.equal(html.headers.get('cache-control'), 'no-cache');
  const asset = (await html.text()).match(/\/assets\/[^"]+\.js/)[0];
  const js = await fetch(base + asset);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');

  step('sign out, then back in with the password');
  await page.locator('#sign-out').click();
  await page.locator('#signin-name').waitFor();
  assert.equal(await page.locator('[data-nav=dashboard]').isVisible(), false);
  await page.locator('#signin-name').fill('admin');
  await page.locator('#signin-password').fill('a wrong password!');
  await page.locator('#signin-password').press('Enter');
  await page.getByText('name or password is wrong').waitFor();
  await page.locator('#signin-password').fill('a long enough password');
  await page.locator('#signin-password').press('Enter');
  await page.locator('[data-health]').waitFor(); // back where they were
  assert.equal(await page.locator('[data-nav=dashboard]').isVisible(), true);

  assert.deepEqual(problems, [], 'no console errors');
  step('passed');
} catch (e) {
  failed = true;
  console.error(e);
  if (page) {
    await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
    console.error(`page at failure: ${page.url()} (screenshot: ${join(artifacts, 'failure.png')})`);
    if (process.env.E2E_DEBUG) {
      console.error(await page.evaluate(() => document.querySelector('[data-testid=waveform]')?.firstElementChild
        ?.shadowRoot?.innerHTML?.replace(/<style>[\s\S]*?<\/style>/g, '').slice(0, 4000)).catch((x) => String(x)));
    }
  }
  console.error(`problems: ${JSON.stringify(problems, null, 2)}`);
  console.error(`server log (tail):\n${serverLog.split('\n').slice(-30).join('\n')}`);
} finally {
  await browser.close();
  feedServer.close();
  server.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
