// Narrowband speech (sampled at 8 kHz: a phone line, an old codec, flite's default `kal` voice) lacks the band
// above 4 kHz that the 16 kHz acoustic model was trained on, and the model mishears it badly (kal: 44% WER,
// the same voice at 16 kHz: 15%). Here such speech is found in the recogniser's own log-mel features and the
// missing band is predicted from the band below it, before the cepstra are taken (bandwidth extension).
// Pure functions over the caller's buffers; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "podpromo/asr/pocketsphinx.h"
#include "podpromo/core/status.h"

namespace podpromo {

// The en-us model's filterbank: 25 mel filters from 130 to 6800 Hz at 16 kHz. Filters 0-18 lie under ~3.9 kHz,
// inside what an 8 kHz line carries; 19-24 lie (mostly) above it.
inline constexpr int kMelBands = 25;
inline constexpr int kNarrowBands = 19;
using MelFrame = std::array<float, kMelBands>;  // natural-log mel energies of one 10 ms frame

// Which frames are narrowband. Measured over 2 s windows (1 s apart): the energy above each filter's noise floor
// (twice its tenth percentile over the frames given) in filters 21-22 (4.2-5 kHz) against filters 16-18 (3-3.9 kHz).
// A line cut at 4 kHz leaves a cliff of 30 dB or more there (flite's kal -31 to -40 dB, phone calls -31 to -47,
// its hiss not counted); wideband speech falls off gently even when its top is dull (a 1961 broadcast -21 to -29,
// audiobooks above -20). A frame takes the median verdict of the five windows around it, so a pause or a single
// word does not flip it.
std::vector<bool> FindNarrowbandFrames(std::span<const MelFrame> frames);

// Fills filters 19-24 of the marked frames from filters 0-18: the frame is assigned to the nearest of 16
// spectral classes and that class's linear map predicts the upper filters. The classes and maps were learnt
// from three wideband flite voices (awb, rms, slt) against the same speech passed through an 8 kHz line, by
// bench/narrowband_train.cc (table in src/asr/narrowband_table.inc). Returns how many frames were changed.
size_t ExtendBandwidth(std::span<MelFrame> frames, const std::vector<bool>& narrow);

// The same frames as the pocketsphinx recogniser of `config` computes them (its model's filterbank, its noise
// removal; every front-end setting copied from a decoder made with `config`), for one utterance of 16 kHz PCM.
// Unavailable when the model is missing or its filterbank is not the one above.
Result<std::vector<MelFrame>> RecogniserLogMel(const PocketsphinxConfig& config, std::span<const int16_t> pcm);

}  // namespace podpromo
