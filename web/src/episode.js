// One episode: the player and waveform with a region per clip (episode/waveform.js), the transcript, click a word to
// seek (episode/transcript.js), the ranked clip cards with their explanation and feedback (episode/cards.js), and
// the editor that trims a region and renders it (episode/editor.js). The page's state is one object
// (episode/state.js) these modules share.
import { GENRES, PLATFORMS, api, el, formatTime, onJobEvent, toast } from './api.js';
import { clipCard } from './episode/cards.js';
import { closeEditor, openEditor, showEditorSpan } from './episode/editor.js';
import { createPage, loadEpisode } from './episode/state.js';
import { applyFix, fixWordsToggle, renderTranscript, speakerNames } from './episode/transcript.js';
import { addRegion, mountWaveform, playSpan, seek } from './episode/waveform.js';
import { select } from './episodes.js';

// The page's skeleton: header with player and waveform, the clip column, the editor and the transcript.
function layout(page) {
  const ep = page.doc.episode;
  const v = {
    // (A media element fetches its source as soon as it has one, in the page or not.)
    audio: el('audio', { controls: true, preload: 'metadata',
      src: ep.status === 'ready' ? `/api/v1/episodes/${page.id}/audio` : null, 'aria-label': 'Episode audio' }),
    wave: el('div', { class: 'wave', 'data-testid': 'waveform' }),
    genre: select('genre', GENRES, ep.genre, 'Genre'),
    platform: select('platform', PLATFORMS, ep.platform, 'Platform'),
    ranking: el('p', { class: 'muted ranking-note' }),
    cards: el('ol', { class: 'cards', 'aria-label': 'Clips, best first' }),
    editor: el('section', { class: 'panel editor', hidden: true, 'aria-label': 'Edit clip' }),
    transcript: el('div', { class: 'transcript', 'aria-label': 'Transcript', 'data-testid': 'transcript' }),
    soundbites: soundbitesPanel(page.id),
    exports: exportLinks(page.id),
  };
  const fix = fixWordsToggle(v.transcript);
  fix.button.hidden = !page.doc.transcript;
  page.wave = v.wave;
  page.waveHome = el('section', { class: 'panel' });
  page.editorSlot = null;
  page.root.replaceChildren(
    page.waveHome,
    el('div', { class: 'columns' },
      el('section', { class: 'panel' },
        el('div', { class: 'heading-row' }, el('h2', {}, 'Clips'), el('div', { class: 'options' }, v.genre, v.platform)),
        v.ranking, v.cards, v.soundbites, v.exports),
      el('div', {}, v.editor,
        el('section', { class: 'panel' },
          el('div', { class: 'heading-row' }, el('h2', {}, 'Transcript'), fix.button), fix.hint, v.transcript))));
  page.waveHome.append(...[
      titleEditor(page.id, ep.title),
      el('p', { class: 'muted' }, `${ep.status} · ${formatTime(ep.duration)} · detected genre: ${ep.detected_genre ?? '–'}`
        + (ep.archived ? ' · source archived' : '')),
      ep.error ? el('p', { class: 'error' }, ep.error) : null,
      // (Before its analysis an episode has no waveform, and a show's episode no audio until it is downloaded.)
      ep.status === 'ready' ? v.audio : el('p', { class: 'muted', 'data-testid': 'not-ready' },
        'Its player and waveform appear here once it is analysed.'),
      v.wave].filter(Boolean));
  return v;
}

// The episode's title, renamed in place: Enter or leaving the field saves, Escape keeps the old one.
function titleEditor(id, title) {
  const h1 = el('h1', { class: 'episode-title' }, title);
  const rename = el('button', { type: 'button', class: 'rename', 'data-action': 'rename' }, 'Rename');
  const box = el('div', { class: 'title-row' }, h1, rename);
  rename.addEventListener('click', () => {
    const input = el('input', { type: 'text', value: h1.textContent, maxlength: 200, 'aria-label': 'Episode title',
      class: 'title-input' });
    let done = false;
    const finish = async (keep) => {
      if (done) return;
      done = true;
      const wanted = input.value.trim();
      if (keep && wanted && wanted !== h1.textContent) {
        try {
          h1.textContent = (await api.patch(`/api/v1/episodes/${id}`, { title: wanted })).episode.title;
          toast('Renamed');
        } catch (e) {
          toast(e.message, 'error');
        }
      }
      box.replaceChildren(h1, rename);
      rename.focus();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
    box.replaceChildren(input);
    input.focus();
    input.select();
  });
  return box;
}

// The chosen clips (the starred ones, or all) as Podcasting 2.0 <podcast:soundbite> lines to paste into the
// episode's feed item, read when opened.
function soundbitesPanel(id) {
  const text = el('textarea', { readonly: true, rows: 4, 'aria-label': 'Soundbite lines', spellcheck: 'false' });
  const copy = el('button', { type: 'button' }, 'Copy');
  const note = el('p', { class: 'muted' }, 'Paste these into the episode\'s <item> in your feed: podcast apps show them '
    + 'as its best moments. Star clips to choose which.');
  const panel = el('details', { class: 'soundbites' }, el('summary', {}, 'Soundbites for your feed'), note, text, copy);
  panel.addEventListener('toggle', async () => {
    if (!panel.open) return;
    try {
      const r = await api.get(`/api/v1/episodes/${id}/soundbites`);
      text.value = r.xml || '';
      panel.dataset.count = String(r.soundbites.length);
    } catch (e) {
      toast(e.message, 'error');
    }
  });
  copy.addEventListener('click', () => navigator.clipboard?.writeText(text.value)
    .then(() => toast('Soundbites copied'), () => { text.select(); }));
  return panel;
}

// The same clips as an edit decision list, for an editor who finishes them in Premiere, Resolve or Final Cut: each
// file names the episode's file, which the editor links to their own copy.
function exportLinks(id) {
  const link = (format, label, title) => el('a', { href: `/api/v1/episodes/${id}/export?format=${format}`, download: '',
    title, 'data-format': format }, label);
  return el('p', { class: 'muted exports' }, 'For your video editor: ',
    link('edl', 'EDL', 'CMX3600 edit decision list (Premiere, Resolve, Avid)'), ' · ',
    link('fcpxml', 'FCPXML', 'Final Cut Pro and Resolve'), ' · ',
    link('otio', 'OpenTimelineIO', 'OpenTimelineIO JSON'), ' · ',
    el('a', { href: `/api/v1/episodes/${id}/archive`, download: '', 'data-format': 'zip',
      title: 'Every clip\'s video, audio, captions and post text' }, 'All clips (ZIP)'));
}

function draw(page) {
  const v = layout(page);
  const { doc } = page;
  const actions = {
    play: (c) => playSpan(page, c.start, c.end),
    edit: (c, i, card, pl) => {
      const region = page.regions.getRegions().find((r) => r.id === c.id) || addRegion(page, c, i);
      openEditor(page, v.editor, c, region, pl, onRendered, card);
    },
  };
  // A ranking for another platform or genre lists the clips it would choose; the clips already made (rendered videos,
  // feedback, the ones you trimmed) stay under it as they are, and so does an open edit: its trimmed span, now for
  // platform `pl`.
  const fillCards = (clips, rescored, pl) => {
    const was = page.editing;
    if (was) closeEditor(page, v.editor); // (it sits among the cards, holding the waveform)
    listCards(clips, rescored, pl);
    const card = was?.clip.id && v.cards.querySelector(`.card[data-clip="${was.clip.id}"]`);
    if (card) openEditor(page, v.editor, was.clip, was.region, pl, onRendered, card);
  };
  const listCards = (clips, rescored, pl) => {
    const cardActions = { ...actions, edit: (c, i, card) => actions.edit(c, i, card, pl) };
    v.cards.replaceChildren(...clips.map((c, i) => clipCard(c, i, rescored, cardActions)));
    if (!v.cards.children.length) v.cards.append(el('li', { class: 'muted' }, 'No clips.'));
    if (!rescored) return;
    const listed = new Set(clips.map((c) => c.id).filter(Boolean));
    const kept = doc.clips.filter((c) => !listed.has(c.id));
    if (!kept.length) return;
    v.cards.append(el('li', { class: 'cards-divider', 'data-testid': 'kept-clips' },
      el('h3', {}, 'Clips you already have'), el('p', { class: 'muted' }, 'Made before this ranking; kept as they are.')));
    for (const c of kept) v.cards.append(clipCard(c, doc.clips.indexOf(c), false, actions));
  };
  function onRendered(clip) {
    doc.clips.push(clip);
    v.cards.append(clipCard(clip, doc.clips.length - 1, false, actions));
  }
  if (doc.episode.status === 'ready') mountWaveform(page, v.audio, v.wave, (region, start, end) => {
    if (!page.editing || page.editing.region !== region) {
      const clip = doc.clips.find((c) => c.id === region.id);
      if (clip) openEditor(page, v.editor, clip, region, undefined, onRendered, v.cards.querySelector(`.card[data-clip="${clip.id}"]`));
    }
    showEditorSpan(page, v.editor, start, end);
  });
  const showTranscript = () => renderTranscript(page, v.transcript, (t) => seek(page, v.audio, t), (r) => {
    applyFix(page, r, page.reload);
    showTranscript();
  });
  showTranscript();
  // (Named, the page is read again: the speakers' fields then hold the new names.)
  const speakers = speakerNames(page, () => page.reload());
  if (speakers) v.transcript.before(speakers);
  const rescore = async () => {
    const g = v.genre.querySelector('select').value;
    const pl = v.platform.querySelector('select').value;
    try {
      const r = await api.get(`/api/v1/episodes/${page.id}/clips?platform=${pl}&genre=${g}`);
      v.ranking.textContent = r.rescored ? `Ranked for ${pl}, ${g.replace('_', ' ')} (${r.rescore_ms} ms); `
        + 'render a clip to make its video.' : '';
      fillCards(r.items, r.rescored, pl);
    } catch (e) {
      toast(e.message, 'error');
    }
  };
  v.genre.addEventListener('change', rescore);
  v.platform.addEventListener('change', rescore);
  fillCards(doc.clips, false, doc.episode.platform);
}

export function renderEpisode(root, id) {
  const page = createPage(id, root);
  root.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  // A load that answers after the page was left draws nothing: the next page owns `root` by then.
  let left = false;
  const load = () => loadEpisode(page).then(() => {
    if (!left) draw(page);
  });
  page.reload = () => load().catch((e) => toast(e.message, 'error'));
  load().catch((e) => {
    if (!left) root.replaceChildren(el('p', { class: 'error' }, e.message));
  });
  // Follow this episode's own job: redraw when it ends.
  page.cleanups.push(onJobEvent((ev) => {
    if (ev.episode_id === id && page.doc && page.doc.job && ev.job_id === page.doc.job.id &&
        ['succeeded', 'failed', 'cancelled'].includes(ev.state)) load();
  }));
  return () => {
    left = true;
    for (const c of page.cleanups) c();
    page.ws?.destroy();
  };
}
