#!/usr/bin/env bash
# End-to-end benchmark, everything measured in this one run on this machine:
#   podpromo process --no-render  vs  single-process pocketsphinx_continuous with its default settings,
# on the same synthesised 10-minute episode. Prints wall times, their ratio, both WERs and peak memory.
# With BENCH_LONG=1 it also measures the peak memory of a 3-hour episode.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=/usr/share/pocketsphinx/model/en-us

# A ~10-minute episode: both test scripts, twice, voices and all.
{ grep -hv '^#' tests/data/business_interview.tsv tests/data/true_crime.tsv
  grep -hv '^#' tests/data/true_crime.tsv tests/data/business_interview.tsv; } > "$work/ten.tsv"
$B/make_episode "$work/ten.tsv" "$work/ten.wav" "$work/ten.json"
cut -f4 "$work/ten.tsv" > "$work/ref.txt"
dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$work/ten.wav")
printf 'episode: %.1f s of flite speech (voices kal, rms, slt, awb)\n' "$dur"

now() { date +%s.%N; }
t0=$(now)
pocketsphinx_continuous -infile "$work/ten.wav" -hmm $model/en-us -lm $model/en-us.lm.bin \
  -dict $model/cmudict-en-us.dict -logfn /dev/null > "$work/ref_hyp.txt" 2>/dev/null
t1=$(now)
/usr/bin/time -f '%M' -o "$work/mem" $B/podpromo process "$work/ten.wav" --no-render --json > "$work/ours.json" 2>/dev/null
t2=$(now)
ref_s=$(echo "$t1 - $t0" | bc -l)
ours_s=$(echo "$t2 - $t1" | bc -l)
ref_wer=$($B/wer "$work/ref.txt" "$work/ref_hyp.txt")
ours_wer=$($B/wer "$work/ref.txt" "$work/ours.json")
printf '%-44s %8.1f s   WER %5.1f%%\n' "pocketsphinx_continuous (defaults, 1 process)" "$ref_s" "$(echo "$ref_wer * 100" | bc -l)"
printf '%-44s %8.1f s   WER %5.1f%%   peak RSS %d MB\n' "podpromo process --no-render ($(nproc) cores)" "$ours_s" \
  "$(echo "$ours_wer * 100" | bc -l)" "$(( $(cat "$work/mem") / 1024 ))"
printf 'time ratio (podpromo / reference): %.3f   (goal <= 0.35)\n' "$(echo "$ours_s / $ref_s" | bc -l)"
printf 'WER difference: %+.1f points   (goal <= +2)\n' "$(echo "($ours_wer - $ref_wer) * 100" | bc -l)"

if [ "${BENCH_LONG:-0}" = 1 ]; then
  ffmpeg -nostdin -v error -stream_loop 17 -i "$work/ten.wav" -t 10800 -c:a libmp3lame -b:a 64k "$work/long.mp3"
  t3=$(now)
  /usr/bin/time -f '%M' -o "$work/mem_long" $B/podpromo process "$work/long.mp3" --no-render --json > /dev/null 2>&1
  t4=$(now)
  printf '3-hour episode: %.0f s wall, peak RSS %d MB   (goal < 600 MB)\n' "$(echo "$t4 - $t3" | bc -l)" \
    "$(( $(cat "$work/mem_long") / 1024 ))"
fi
