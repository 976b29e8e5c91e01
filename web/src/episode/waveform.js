// The waveform under the player: drawn from the server's loudness envelope (no decoding of a long episode in the
// browser), one draggable region per clip, playback of a span, and the transcript word under the playhead.
import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin from 'wavesurfer.js/dist/plugins/regions.esm.js';
import { api, el } from '../api.js';
import { snapToWords } from '../words.js';

const COLORS = ['rgba(91,61,245,0.22)', 'rgba(0,150,136,0.22)', 'rgba(233,30,99,0.2)', 'rgba(255,152,0,0.24)',
  'rgba(3,169,244,0.22)'];

// Adds clip `c` (the i-th) as a region; returns it.
export function addRegion(page, c, i) {
  return page.regions.addRegion({ id: c.id || `span-${i}`, start: c.start, end: c.end,
    color: COLORS[i % COLORS.length], drag: true, resize: true });
}

// Plays [start, end) and stops there.
export function playSpan(page, start, end) {
  if (!page.ws) return;
  page.ws.setTime(start);
  page.playUntil = end;
  page.ws.play();
}

// Seeks to `t` (a transcript word's start).
export function seek(page, audio, t) {
  page.playUntil = null;
  if (page.ws) page.ws.setTime(t);
  else audio.currentTime = t;
}

// Draws the waveform into `wave` for `audio`. `onSpan(region, start, end)` hears a region moved by hand, snapped
// to whole words.
export function mountWaveform(page, audio, wave, onSpan) {
  page.regions = RegionsPlugin.create();
  api.get(`/api/v1/episodes/${page.id}/peaks?n=1200`).then((p) => {
    const ws = WaveSurfer.create({
      container: wave, media: audio, peaks: [p.peaks], duration: p.duration, height: 96,
      waveColor: '#b7aef7', progressColor: '#5b3df5', cursorColor: '#222', normalize: true, plugins: [page.regions],
    });
    page.ws = ws;
    ws.on('timeupdate', (t) => {
      if (page.playUntil != null && t >= page.playUntil) {
        ws.pause();
        page.playUntil = null;
      }
      highlightWord(page, t);
    });
    // Regions need the duration (before it they collapse to markers at 0): added once the waveform is ready.
    ws.once('ready', () => page.doc.clips.forEach((c, i) => addRegion(page, c, i)));
    page.regions.on('region-updated', (region) => {
      const snapped = snapToWords(page.words, region.start, region.end);
      region.setOptions({ start: snapped.start, end: snapped.end });
      onSpan(region, snapped.start, snapped.end);
    });
  }).catch((e) => wave.replaceChildren(el('p', { class: 'muted' }, e.message)));
}

// Marks the transcript word being heard at `t` seconds.
function highlightWord(page, t) {
  const spans = page.root.querySelectorAll('.word');
  let current = null;
  for (const s of spans) {
    if (parseFloat(s.dataset.start) <= t) current = s;
    else break;
  }
  if (current !== page.lastWord) {
    page.lastWord?.classList.remove('now');
    current?.classList.add('now');
    page.lastWord = current;
  }
}
