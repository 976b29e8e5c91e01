// Speaker turns on recognised segments, from their pitch. Pure; thread-safe.
#pragma once

#include <vector>

#include "podpromo/core/types.h"
#include "podpromo/media/audio_features.h"

namespace podpromo {

// Marks speaker turns on recognised segments ("S1", "S2", ... in order of first appearance) where they can be
// found cheaply: segments already break at pauses, and each segment's voice is its median pitch. The segments
// are clustered into the most voices (up to 4) that are clearly apart: centres at least 3 semitones from each
// other and well outside the spread within a voice, each voice at least a tenth of the speech. A segment with
// too little voice to tell keeps its neighbour's. When only one voice is found the segments stay unmarked.
// Returns the number of voices.
int MarkSpeakerTurns(std::vector<Segment>* segments, const AudioFrames& frames);

}  // namespace podpromo
