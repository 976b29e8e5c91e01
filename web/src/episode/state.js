// The episode page's state, in one object its modules share: the episode document and its words, the waveform and
// its regions, where playback should stop, the clip being edited, and what to undo when the page goes away.
import { api } from '../api.js';
import { wordsOf } from '../words.js';

export function createPage(id, root) {
  return {
    id,
    root,
    doc: null, // GET /api/v1/episodes/{id}
    words: [], // the transcript's words, in order (words.js)
    ws: null, // the WaveSurfer, once the peaks have come
    regions: null, // its regions plugin: one region per clip
    playUntil: null, // seconds: playback pauses there (a clip's end)
    editing: null, // {clip, region} open in the editor
    wave: null, // the waveform's element: under the player, or in the open editor
    waveHome: null, // where it lives when no clip is edited
    editorSlot: null, // the list item under a card that holds the open editor
    lastWord: null, // the transcript word marked as playing
    cleanups: [], // run when the page is left
    reload: null, // reads the episode again and draws it (set by renderEpisode)
  };
}

// Reads the episode again; the words follow its transcript.
export async function loadEpisode(page) {
  page.doc = await api.get(`/api/v1/episodes/${page.id}`);
  page.words = wordsOf(page.doc.transcript);
}
