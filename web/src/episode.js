// One episode: the player and waveform with a region per clip, the transcript (click a word to seek), the
// ranked clip cards with their explanation and feedback, and the editor that trims a region (snapping to
// words) and renders it for a platform and caption style.
import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin from 'wavesurfer.js/dist/plugins/regions.esm.js';
import { GENRES, PLATFORMS, api, el, formatTime, onJobEvent, toast } from './api.js';
import { select } from './episodes.js';
import { snapToWords, speakerLabels, wordsOf } from './words.js';

const COLORS = ['rgba(91,61,245,0.22)', 'rgba(0,150,136,0.22)', 'rgba(233,30,99,0.2)', 'rgba(255,152,0,0.24)',
  'rgba(3,169,244,0.22)'];
const FLAG_REASONS = ['starts mid-thought', 'ends too early', 'sponsor read', 'wrong words', 'boring', 'other'];

function remembered(clipId) {
  try {
    return JSON.parse(localStorage.getItem(`podpromo.feedback.${clipId}`) || '{}');
  } catch {
    return {};
  }
}
function remember(clipId, patch) {
  localStorage.setItem(`podpromo.feedback.${clipId}`, JSON.stringify({ ...remembered(clipId), ...patch }));
}

export function renderEpisode(root, id) {
  let doc = null;
  let words = [];
  let ws = null;
  let regions = null;
  let playUntil = null;
  let editing = null; // {region, clip}
  const cleanups = [];

  root.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));

  const load = async () => {
    doc = await api.get(`/api/v1/episodes/${id}`);
    words = wordsOf(doc.transcript);
    draw();
  };

  function draw() {
    const ep = doc.episode;
    const audio = el('audio', { controls: true, preload: 'metadata', src: `/api/v1/episodes/${id}/audio`,
      'aria-label': 'Episode audio' });
    const wave = el('div', { class: 'wave', 'data-testid': 'waveform' });
    const genre = select('genre', GENRES, ep.genre, 'Genre');
    const platform = select('platform', PLATFORMS, ep.platform, 'Platform');
    const ranking = el('p', { class: 'muted ranking-note' });
    const cards = el('ol', { class: 'cards', 'aria-label': 'Clips, best first' });
    const editor = el('section', { class: 'panel editor', hidden: true, 'aria-label': 'Edit clip' });
    const transcript = el('div', { class: 'transcript', 'aria-label': 'Transcript' });

    root.replaceChildren(
      el('section', { class: 'panel' },
        el('h1', {}, ep.title),
        el('p', { class: 'muted' }, `${ep.status} · ${formatTime(ep.duration)} · detected genre: ${ep.detected_genre ?? '–'}`
          + (ep.archived ? ' · source archived' : '')),
        ep.error ? el('p', { class: 'error' }, ep.error) : null,
        audio, wave),
      el('div', { class: 'columns' },
        el('section', { class: 'panel' },
          el('div', { class: 'heading-row' }, el('h2', {}, 'Clips'), el('div', { class: 'options' }, genre, platform)),
          ranking, cards),
        el('div', {}, editor,
          el('section', { class: 'panel' }, el('h2', {}, 'Transcript'), transcript))));

    // Waveform from the server's envelope (no decoding of a long episode in the browser).
    regions = RegionsPlugin.create();
    api.get(`/api/v1/episodes/${id}/peaks?n=1200`).then((p) => {
      ws = WaveSurfer.create({
        container: wave, media: audio, peaks: [p.peaks], duration: p.duration, height: 96,
        waveColor: '#b7aef7', progressColor: '#5b3df5', cursorColor: '#222', normalize: true, plugins: [regions],
      });
      ws.on('timeupdate', (t) => {
        if (playUntil != null && t >= playUntil) {
          ws.pause();
          playUntil = null;
        }
        highlightWord(t);
      });
      // Regions need the duration (before it they collapse to markers at 0): added once the waveform is ready.
      ws.once('ready', () => doc.clips.forEach((c, i) => addRegion(c, i)));
      regions.on('region-updated', (region) => {
        const snapped = snapToWords(words, region.start, region.end);
        region.setOptions({ start: snapped.start, end: snapped.end });
        if (!editing || editing.region !== region) {
          const clip = doc.clips.find((c) => c.id === region.id);
          if (clip) openEditor(clip, region);
        }
        showEditorSpan(snapped.start, snapped.end);
      });
    }).catch((e) => wave.replaceChildren(el('p', { class: 'muted' }, e.message)));

    // The transcript: one button-like span per word, seeking there on click or Enter; a speaker's label where
    // a turn was found.
    const segments = doc.transcript?.segments || [];
    const labels = speakerLabels(segments);
    for (const [i, seg] of segments.entries()) {
      const p = el('p', { class: 'segment' });
      if (labels[i]) p.append(el('span', { class: 'speaker' }, `${labels[i]}:`), ' ');
      for (const w of seg.words || []) {
        const span = el('span', { class: 'word', tabindex: '0', role: 'button', 'data-start': w.start,
          title: formatTime(w.start) }, w.word);
        const seek = () => {
          playUntil = null;
          if (ws) ws.setTime(w.start);
          else audio.currentTime = w.start;
        };
        span.addEventListener('click', seek);
        span.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), seek()));
        p.append(span, ' ');
      }
      transcript.append(p);
    }
    if (!doc.transcript) transcript.append(el('p', { class: 'muted' }, 'No transcript yet.'));

    const rescore = async () => {
      const g = genre.querySelector('select').value;
      const pl = platform.querySelector('select').value;
      try {
        const r = await api.get(`/api/v1/episodes/${id}/clips?platform=${pl}&genre=${g}`);
        ranking.textContent = r.rescored ? `Ranked for ${pl}, ${g.replace('_', ' ')} (${r.rescore_ms} ms); `
          + 'render a clip to make its video.' : '';
        fillCards(cards, r.items, r.rescored, pl);
      } catch (e) {
        toast(e.message, 'error');
      }
    };
    genre.addEventListener('change', rescore);
    platform.addEventListener('change', rescore);
    fillCards(cards, doc.clips, false, ep.platform);

    function addRegion(c, i) {
      return regions.addRegion({ id: c.id || `span-${i}`, start: c.start, end: c.end, color: COLORS[i % COLORS.length],
        drag: true, resize: true });
    }

    function fillCards(list, clips, rescored, pl) {
      list.replaceChildren(...clips.map((c, i) => card(c, i, rescored, pl)));
      if (!list.children.length) list.append(el('li', { class: 'muted' }, 'No clips.'));
    }

    function card(c, i, rescored, pl) {
      // The features that count for this clip, strongest first.
      const features = Object.entries(c.features || {}).filter(([, v]) => typeof v === 'number' && v > 0)
        .sort((a, b) => b[1] - a[1]).slice(0, 10);
      const stored = !rescored && c.id;
      const item = el('li', { class: 'card', 'data-clip': c.id || '' },
        el('div', { class: 'card-head' },
          el('span', { class: 'rank' }, `#${i + 1}`),
          el('span', { class: 'score', title: `score ${c.score?.toFixed?.(3)}` }, `${c.display_score ?? Math.round(c.score * 100)}`),
          el('span', { class: `confidence ${c.confidence}` }, `${c.confidence} confidence`),
          el('span', { class: 'muted' }, `${formatTime(c.start)}–${formatTime(c.end)} · ${(c.end - c.start).toFixed(1)} s`)),
        el('h3', {}, c.title || '(untitled)'),
        el('p', { class: 'hashtags' }, (c.hashtags || []).join(' ')),
        el('ul', { class: 'why' }, (c.explanation || []).map((x) => el('li', {}, x))),
        el('div', { class: 'bars' }, features.map(([k, v]) => el('div', { class: 'bar' },
          el('span', {}, k.replace(/_/g, ' ')),
          el('meter', { min: 0, max: 1, value: v, 'aria-label': k }),
          el('span', { class: 'num' }, v.toFixed(2))))),
        el('div', { class: 'card-actions' },
          el('button', { type: 'button', onclick: () => playSpan(c.start, c.end), 'data-action': 'play' }, '▶ Play'),
          el('button', { type: 'button', 'data-action': 'edit', onclick: () => {
            let region = regions.getRegions().find((r) => r.id === c.id);
            if (!region) region = addRegion(c, i);
            openEditor(c, region, pl);
          } }, 'Edit & render')));
      if (stored) {
        item.append(media(c), feedback(c));
      }
      return item;
    }

    function playSpan(start, end) {
      if (!ws) return;
      ws.setTime(start);
      playUntil = end;
      ws.play();
    }

    function openEditor(clip, region, pl) {
      editing = { clip, region };
      editor.hidden = false;
      const platformSel = select('platform', PLATFORMS, pl || clip.platform || ep.platform, 'Platform');
      const aspect = select('aspect', ['9:16', '1:1', '16:9'], ep.render_options?.aspect || '9:16', 'Frame');
      const style = select('style', ['bold', 'clean', 'boxed'], ep.render_options?.style || 'bold', 'Captions');
      const start = el('input', { type: 'number', step: '0.1', min: 0, name: 'start', value: region.start.toFixed(2) });
      const end = el('input', { type: 'number', step: '0.1', min: 0, name: 'end', value: region.end.toFixed(2) });
      const span = el('p', { class: 'span-label', 'aria-live': 'polite' });
      const progress = el('div', { class: 'render-progress' });
      const apply = () => {
        const s = snapToWords(words, parseFloat(start.value), parseFloat(end.value));
        region.setOptions({ start: s.start, end: s.end });
        showEditorSpan(s.start, s.end);
      };
      start.addEventListener('change', apply);
      end.addEventListener('change', apply);
      const render = el('button', { type: 'button', class: 'primary', 'data-action': 'render', onclick: async () => {
        render.disabled = true;
        try {
          const body = { start: region.start, end: region.end, platform: platformSel.querySelector('select').value,
            aspect: aspect.querySelector('select').value, style: style.querySelector('select').value };
          const r = await api.post(`/api/v1/episodes/${id}/clips`, body);
          watchRender(r, progress, () => { render.disabled = false; });
        } catch (e) {
          progress.replaceChildren(el('p', { class: 'error' }, e.message));
          render.disabled = false;
        }
      } }, 'Render');
      editor.replaceChildren(
        el('h2', {}, 'Edit clip'),
        el('p', { class: 'muted' }, 'Drag the highlighted region on the waveform, or type the times; both snap to whole words.'),
        el('div', { class: 'options' }, el('label', { class: 'field' }, 'Start (s)', start),
          el('label', { class: 'field' }, 'End (s)', end), platformSel, aspect, style),
        span,
        el('div', { class: 'card-actions' },
          el('button', { type: 'button', onclick: () => playSpan(region.start, region.end) }, '▶ Play span'), render),
        progress);
      showEditorSpan(region.start, region.end);
      editor.scrollIntoView({ block: 'nearest' });
    }

    function showEditorSpan(s, e) {
      if (!editing) return;
      const [start, end] = editor.querySelectorAll('input[type=number]');
      if (start) start.value = s.toFixed(2);
      if (end) end.value = e.toFixed(2);
      const label = editor.querySelector('.span-label');
      const text = words.filter((w) => w.start >= s - 0.01 && w.end <= e + 0.01).map((w) => w.word).join(' ');
      if (label) label.textContent = `${formatTime(s)}–${formatTime(e)} (${(e - s).toFixed(1)} s): “${text.slice(0, 160)}${text.length > 160 ? '…' : ''}”`;
    }

    function watchRender(r, box, done) {
      const bar = el('progress', { max: 1, value: 0, 'aria-label': 'Render progress' });
      const label = el('span', {}, 'queued');
      box.replaceChildren(bar, label);
      const stop = onJobEvent(async (ev) => {
        if (ev.job_id !== r.job.id) return;
        bar.value = ev.progress ?? 0;
        label.textContent = ev.state === 'running' ? `${ev.stage} ${Math.round((ev.progress ?? 0) * 100)}%` : ev.state;
        if (ev.state === 'succeeded') {
          stop();
          const clip = await api.get(r.clip_url);
          doc.clips.push(clip);
          box.replaceChildren(el('p', { class: 'ok', 'data-rendered': clip.id }, 'Rendered.'), media(clip));
          cards.append(card(clip, doc.clips.length - 1, false, clip.platform));
          done();
        } else if (ev.state === 'failed' || ev.state === 'cancelled') {
          stop();
          box.replaceChildren(el('p', { class: 'error' }, `Render ${ev.state}${ev.error ? `: ${ev.error}` : ''}`));
          done();
        }
      });
      cleanups.push(stop);
    }
  }

  function media(c) {
    const f = c.files || {};
    const box = el('div', { class: 'media' });
    if (c.expired) {
      box.append(el('p', { class: 'muted' }, 'Files removed by cleanup: render this span again to get them back.'));
      return box;
    }
    if (f.video) {
      box.append(el('video', { controls: true, preload: 'none', src: f.video, poster: f.thumbnail || null,
        'aria-label': `Video of ${c.title}` }));
    }
    const links = [['video', 'Video'], ['audio', 'Audio'], ['srt', 'SRT'], ['vtt', 'VTT'], ['post', 'Post text']]
      .filter(([k]) => f[k]).map(([k, label]) => el('a', { href: f[k], download: '', 'data-download': k }, label));
    if (links.length) box.append(el('p', { class: 'downloads' }, 'Download: ', ...links.flatMap((a) => [a, ' '])));
    return box;
  }

  function feedback(c) {
    const mine = remembered(c.id);
    const status = el('span', { class: 'muted feedback-status', 'aria-live': 'polite' });
    const show = (m) => {
      status.textContent = [m.vote ? `You ${m.vote}d this` : '', m.rating ? `rated ${m.rating}/5` : '',
        m.flag ? `flagged: ${m.flag}` : '', m.starred ? 'starred' : ''].filter(Boolean).join(' · ');
    };
    show(mine);
    const send = async (body, patch) => {
      try {
        await api.post(`/api/v1/clips/${c.id}/feedback`, body);
        remember(c.id, patch);
        show(remembered(c.id));
      } catch (e) {
        toast(e.message, 'error');
      }
    };
    const reason = el('select', { 'aria-label': 'Flag reason' }, FLAG_REASONS.map((r) => el('option', { value: r }, r)));
    const comment = el('input', { type: 'text', placeholder: 'Comment', 'aria-label': 'Comment', maxlength: 500 });
    const rating = el('select', { 'aria-label': 'Rating' }, el('option', { value: '' }, 'Rate…'),
      [1, 2, 3, 4, 5].map((n) => el('option', { value: n, selected: mine.rating === n }, `${'★'.repeat(n)}`)));
    rating.addEventListener('change', () => rating.value &&
      send({ kind: 'rating', rating: Number(rating.value) }, { rating: Number(rating.value) }));
    const star = el('button', { type: 'button', 'aria-pressed': String(!!c.starred), 'data-action': 'star',
      onclick: async () => {
        try {
          const on = star.getAttribute('aria-pressed') !== 'true';
          await (on ? api.post(`/api/v1/clips/${c.id}/star`) : api.del(`/api/v1/clips/${c.id}/star`));
          star.setAttribute('aria-pressed', String(on));
          remember(c.id, { starred: on });
          show(remembered(c.id));
        } catch (e) {
          toast(e.message, 'error');
        }
      } }, '☆ Keep');
    return el('div', { class: 'feedback' },
      el('button', { type: 'button', 'data-action': 'like', 'aria-pressed': String(mine.vote === 'like'),
        onclick: () => send({ kind: 'like' }, { vote: 'like' }) }, '♥ Like'),
      el('button', { type: 'button', 'data-action': 'dislike', 'aria-pressed': String(mine.vote === 'dislike'),
        onclick: () => send({ kind: 'dislike' }, { vote: 'dislike' }) }, '✗ Dislike'),
      rating, star,
      el('span', { class: 'flag' }, reason, el('button', { type: 'button', 'data-action': 'flag',
        onclick: () => send({ kind: 'flag', comment: reason.value }, { flag: reason.value }) }, '⚑ Flag')),
      el('span', { class: 'comment' }, comment, el('button', { type: 'button', 'data-action': 'comment',
        onclick: () => comment.value.trim() && send({ kind: 'comment', comment: comment.value.trim() }, {})
          .then(() => { comment.value = ''; toast('Comment saved'); }) }, 'Send')),
      status);
  }

  let lastWord = null;
  function highlightWord(t) {
    const spans = root.querySelectorAll('.word');
    let current = null;
    for (const s of spans) {
      if (parseFloat(s.dataset.start) <= t) current = s;
      else break;
    }
    if (current !== lastWord) {
      lastWord?.classList.remove('now');
      current?.classList.add('now');
      lastWord = current;
    }
  }

  load().catch((e) => root.replaceChildren(el('p', { class: 'error' }, e.message)));
  // Follow this episode's own job: redraw when it ends.
  cleanups.push(onJobEvent((ev) => {
    if (ev.episode_id === id && doc && doc.job && ev.job_id === doc.job.id &&
        ['succeeded', 'failed', 'cancelled'].includes(ev.state)) load();
  }));
  return () => {
    for (const c of cleanups) c();
    ws?.destroy();
  };
}
