#include "podpromo/scoring/features.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "podpromo/scoring/genre.h"
#include "podpromo/scoring/text.h"

namespace podpromo {
namespace {

double Clip01(double v) { return std::clamp(v, 0.0, 1.0); }

// Every weight of the features in one table: what each piece of evidence adds to its feature (each feature is then
// clipped to 0..1). The ranker combines the features with the genre profiles' weights (genre.cc). A change here
// moves every score: `moments_eval` over the real dev episodes is its check.
struct FeatureWeights {
    // Hook, the first ~5 s: a base, a curiosity gap, a story's opening, a question, a number, "you", bold words;
    // a mid-thought or pronoun start costs; a lift in loudness at the onset adds.
    double hook_base = 0.1, hook_curiosity = 0.45, hook_story = 0.25, hook_question = 0.25, hook_number = 0.15;
    double hook_you = 0.1, hook_bold_each = 0.1, hook_bold_max = 0.2, hook_mid_thought = -0.3, hook_pronoun = -0.15;
    double hook_onset = 0.05;
    // Payoff, the last ~8 s: a conclusion (more for each further one), one in the body, advice, an explanation;
    // halved when the clip ends dangling.
    double payoff_base = 0.1, payoff_conclusion = 0.7, payoff_more_each = 0.1, payoff_more_max = 0.2;
    double payoff_in_body = 0.4, payoff_advice = 0.5, payoff_explanation = 0.3, payoff_dangling_factor = 0.5;
    // Arousal: intense words, exclamations and shouting in the text; pitch variation, dynamic range, loudness and
    // laughter in the audio, which weighs audio_share of the blend.
    double arousal_text_base = 0.2, arousal_intense_each = 0.12, arousal_intense_max = 0.4;
    double arousal_exclaim_each = 0.1, arousal_exclaim_max = 0.2, arousal_caps_each = 0.1, arousal_caps_max = 0.2;
    double arousal_pitch = 0.4, arousal_range = 0.3, arousal_loud = 0.3, arousal_laughter = 0.15;
    double arousal_audio_share = 0.6;
    // Emotion: strong and mild emotion words, over a scale.
    double emotion_strong = 2.0, emotion_mild = 1.0, emotion_scale = 5.0;
    // Question: an engaging question form, or another question.
    double question_engaging = 1.0, question_plain = 0.6;
    // Information density, per word: content words, numbers and names add, filler takes away.
    double info_base = 0.05, info_content = 0.7, info_numbers = 4.0, info_names = 2.0, info_fillers = -3.0;
    // Loopability: a clean end, a pause after, a strong payoff, a short clip.
    double loop_base = 0.3, loop_clean_end = 0.3, loop_pause = 0.2, loop_payoff = 0.1, loop_short = 0.1;
    // Self-contained starts at 1: each way it leans on what came before costs.
    double self_back_reference = -0.5, self_mid_thought = -0.3, self_pronoun = -0.15, self_dangling = -0.15;
    double self_topic_change = -0.2;
    // Moments: a story in the past tense and its opening, a surprising turn and numbers, a quotable line.
    double story_narrative = 0.25, story_open = 0.3, surprise_turn = 0.25, surprise_number = 0.08;
    double quotable_base = 0.5, quotable_general = 0.25;
    // Reaction (laughter, an interjection): at the end, after it, in the body, and a little more for each further
    // one; the cold open's quotes the clip holds.
    double reaction_end = 1.0, reaction_after = 0.6, reaction_body = 0.35, reaction_more = 0.1;
    double teased_per_quote = 0.6;
    // Self-promotion short of an ad, per phrase; a genre's own phrases, per minute.
    double ad_self_promo = 0.2, genre_phrase = 0.35;
};
constexpr FeatureWeights kW;

const std::vector<std::string> kCuriosity = {"nobody tells you",    "no one tells you",
                                             "nobody talks about",  "no one talks about",
                                             "the one thing",       "the secret",
                                             "here's the thing",    "here is the thing",
                                             "you won't believe",   "you will not believe",
                                             "the truth is",        "the real reason",
                                             "the biggest mistake", "what nobody",
                                             "most people don't",   "most people never",
                                             "i never told",        "the craziest",
                                             "the strangest",       "the worst",
                                             "the best advice",     "i'll never forget",
                                             "i will never forget", "changed everything",
                                             "let me tell you",     "here's what",
                                             "here is what",        "what i learned",
                                             "the problem is",      "nobody knew",
                                             "no one knew",         "the biggest lesson",
                                             "the hardest",         "the scariest",
                                             "the most important",  "the real secret",
                                             "what happened next",  "no idea",
                                             "nobody expected",     "no one expected"};
const std::vector<std::string> kStory = {
    "picture this",      "imagine",      "one time",   "one night",  "that night",     "on the night",     "i remember",
    "this is the story", "years ago",    "it started", "true story", "so there i was", "it was the night", "it was a",
    "back in",           "in nineteen*", "on a cold",  "on a warm",  "late one"};
const std::vector<std::string> kQuestionStart = {
    "what if",     "why do",       "why does",       "why did",      "why is",     "why are",       "why would",
    "how do",      "how did",      "how does",       "how can",      "how would",  "have you ever", "did you know",
    "do you know", "do you",       "what would you", "what happens", "what's the", "what is the",   "what do",
    "what did",    "can you",      "would you",      "could you",    "is it",      "are you",       "who",
    "why",         "ever wonder*", "ever wondered"};
const std::vector<std::string> kEngagingQuestion = {
    "what if",      "why do",         "how did",      "what happens when", "have you ever",
    "did you know", "what would you", "ever wonder*", "why does",          "how do you"};
const std::vector<std::string> kBold = {"never", "always",  "everything", "nothing",   "worst",
                                        "best",  "biggest", "only",       "every",     "ever",
                                        "huge",  "massive", "impossible", "guarantee", "wrong"};
const std::unordered_set<std::string> kMidThought = {"and",  "but",  "so",     "or",     "because",  "which", "that",
                                                     "then", "also", "anyway", "like",   "um",       "uh",    "yeah",
                                                     "plus", "too",  "either", "though", "although", "cause"};
const std::unordered_set<std::string> kPronoun = {"he",   "she",  "it",    "they",    "them",  "him",
                                                  "her",  "his",  "this",  "those",   "these", "there",
                                                  "it's", "he's", "she's", "they're", "that's"};
const std::vector<std::string> kConclusion = {
    "that's why",    "that is why",    "the lesson",       "the moral",          "bottom line",     "turns out",
    "it turns out",  "which means",    "the key is",       "the point is",       "the takeaway",    "in the end",
    "that's how",    "what i learned", "i learned",        "ever since",         "from that day",   "that's when",
    "the answer is", "so remember",    "the result",       "changed everything", "changed my life", "never again",
    "and that was",  "was arrested",   "confessed",        "was convicted",      "the killer was",  "finally",
    "my advice",     "the secret is",  "lesson",           "so if you",          "that's the",      "that is the",
    "and that's",    "was sentenced",  "was found guilty", "the answer",         "remember this",   "that changed",
    "we learned",    "learned that"};
const std::vector<std::string> kActionable = {
    "you should", "you need to", "you have to", "make sure",    "don't",          "do not",     "start",       "stop",
    "try",        "every day",   "every week",  "every single", "the first step", "write down", "ask yourself"};
const std::vector<std::string> kExplanation = {"because", "the reason", "so that", "which is why", "that means"};
const std::vector<std::string> kBackReference = {"as i said",
                                                 "like i said",
                                                 "as we discussed",
                                                 "like we discussed",
                                                 "going back to",
                                                 "as i mentioned",
                                                 "like i mentioned",
                                                 "we talked about",
                                                 "before the break",
                                                 "like i was saying",
                                                 "as i was saying",
                                                 "returning to",
                                                 "we were talking about",
                                                 "as mentioned",
                                                 "earlier you said",
                                                 "you mentioned earlier"};
const std::vector<std::string> kIntense = {
    "incredible", "insane",     "crazy",    "amazing",   "unbelievable", "huge",      "massive", "shocking",
    "shocked",    "terrifying", "exploded", "screaming", "screamed",     "destroyed", "brutal",  "wild",
    "absolutely", "completely", "totally",  "never",     "everything",   "desperate", "panic",   "blood",
    "dead",       "disaster",   "furious",  "epic",      "dramatic"};
const std::vector<std::string> kStrongEmotion = {
    "terrified", "devastated", "heartbroken", "furious",    "ecstatic", "love",      "loved",      "hate",
    "hated",     "cried",      "crying",      "tears",      "scared",   "afraid",    "panic",      "panicked",
    "horrified", "thrilled",   "grief",       "ashamed",    "proud",    "desperate", "broke down", "screamed",
    "rage",      "fear",       "terror",      "heartbreak", "joy",      "miserable", "shaking"};
const std::vector<std::string> kMildEmotion = {
    "happy",    "sad",      "angry",  "worried",     "excited",  "nervous",   "upset",   "glad",
    "hope",     "hurt",     "lonely", "stress",      "stressed", "anxious",   "anxiety", "frustrated",
    "grateful", "relieved", "sorry",  "embarrassed", "shock",    "surprised", "amazing", "beautiful",
    "painful",  "pain",     "worst",  "best",        "alone",    "lost"};
const std::vector<std::string> kMultiFiller = {"you know", "i mean",      "kind of",   "sort of",
                                               "i guess",  "or whatever", "and stuff", "and everything"};
const std::vector<std::string> kSelfPromo = {"my company", "my podcast", "my book",       "my course",  "check out my",
                                             "link in",    "subscribe",  "my newsletter", "my website", "follow me"};

const std::vector<std::string> kStoryOpen = {
    "i remember",     "one time",       "one day",          "when i was",    "when we were", "years ago", "back when",
    "the first time", "there was this", "there was a time", "this one time", "true story",   "so i was",  "we were in",
    "i was in",       "i was at",       "the day",          "the night",     "growing up",   "long story"};
const std::unordered_set<std::string> kPastVerb = {
    "was",      "were",     "had",    "went",   "said",  "told",    "got",    "came",  "saw",    "thought", "knew",
    "took",     "made",     "found",  "left",   "felt",  "asked",   "did",    "gave",  "called", "started", "decided",
    "realized", "realised", "walked", "looked", "ran",   "tried",   "wanted", "heard", "met",    "lost",    "won",
    "became",   "began",    "sat",    "stood",  "wrote", "brought", "bought", "sent",  "kept",   "turned",  "happened"};
const std::unordered_set<std::string> kNarrator = {"i", "we", "he", "she", "they", "my", "our"};
const std::vector<std::string> kSurprise = {"turns out",
                                            "it turns out",
                                            "actually",
                                            "in fact",
                                            "believe it or not",
                                            "the crazy thing",
                                            "the funny thing",
                                            "the weird thing",
                                            "the wild thing",
                                            "the crazy part",
                                            "the funny part",
                                            "surprisingly",
                                            "ironically",
                                            "the opposite",
                                            "not because",
                                            "most people think",
                                            "people don't realize",
                                            "people don't realise",
                                            "nobody realizes",
                                            "it's not that",
                                            "the truth is",
                                            "the reality is",
                                            "little known",
                                            "the real reason",
                                            "more than",
                                            "less than",
                                            "times more",
                                            "times as"};
const std::vector<std::string> kGeneral = {"you",       "people",   "everyone", "everybody", "nobody",  "no one",
                                           "never",     "always",   "every",    "the only",  "the key", "the best",
                                           "the worst", "the most", "if you",   "the thing", "life",    "anyone"};

// Tokens whose start lies before `ms`, at least `min_n` and at most `max_n` of them from the front.
size_t HeadEnd(const std::vector<Token>& t, Ms ms, size_t min_n, size_t max_n) {
    size_t n = 0;
    while (n < t.size() && (n < min_n || t[n].start_ms < ms) && n < max_n) ++n;
    return n;
}

// Index of the first token of the tail: tokens ending after `ms`, at least `min_n` of them.
size_t TailBegin(const std::vector<Token>& t, Ms ms, size_t min_n) {
    size_t b = t.size();
    while (b > 0 && (t.size() - b < min_n || t[b - 1].end_ms > ms)) --b;
    return b;
}

std::string Quote(const std::vector<Token>& t, size_t at, size_t len_words) {
    if (at >= t.size()) return "";
    return JoinRaw(t, at, std::min(t.size(), at + len_words));
}

size_t PhraseLen(const std::string& ph) { return static_cast<size_t>(std::count(ph.begin(), ph.end(), ' ')) + 1; }

// Question sentences: a '?' or a sentence that opens with a question form. `weight` receives the largest weight of
// a question's opening words (how sure the recogniser was of them).
int CountQuestions(const std::vector<Token>& t, std::string* evidence, bool* engaging, double* weight) {
    int n = 0;
    *engaging = false;
    *weight = 0;
    size_t sentence = 0;  // where the current sentence starts
    for (size_t i = 0; i < t.size(); ++i) {
        const bool sentence_start = i == 0 || t[i - 1].sentence_end;
        if (sentence_start) sentence = i;
        bool is_q = t[i].question_mark;
        // A question known by its mark is quoted up to its mark: its last ten words at most.
        if (is_q && evidence->empty()) {
            const size_t from = std::max(sentence, i + 1 >= 10 ? i + 1 - 10 : 0);
            *evidence = (from > sentence ? "…" : "") + Quote(t, from, i + 1 - from);
        }
        if (sentence_start) {
            size_t at = 0;
            const std::string q = FirstPhrase(t, kQuestionStart, i, std::min(t.size(), i + 3), &at);
            if (!q.empty() && at == i) {
                is_q = true;
                const std::string e = FirstPhrase(t, kEngagingQuestion, i, std::min(t.size(), i + 4), &at);
                if (!e.empty() && at == i) *engaging = true;
                if (evidence->empty()) *evidence = Quote(t, i, 7);
            }
        }
        if (is_q) {
            ++n;
            *weight = std::max(*weight, t[i].question_mark ? t[i].weight : MatchWeight(t, i, 3));
        }
    }
    return n;
}

// What the episode around the clip says of it: a reaction after (or at the end of) it, the cold open's quotes it
// holds, how central its sentences are, a topic change inside it.
void AddContextFeatures(const Candidate& c, const EpisodeContext* ctx, ClipFeatures* f) {
    auto& v = f->values;
    // Reaction: laughter or an interjection in the last 8 s or up to 1.5 s after (heard as part of the clip), less
    // within 5 s after; one in the body counts less.
    double reaction = 0, teased = 0;
    if (ctx) {
        for (const auto& r : ctx->reactions) {
            if (r.at_ms < c.start_ms + 3000 || r.at_ms > c.end_ms + 5000) continue;
            const double w = r.at_ms >= c.end_ms - 8000
                                 ? (r.at_ms <= c.end_ms + 1500 ? kW.reaction_end : kW.reaction_after)
                                 : kW.reaction_body;
            if (w > reaction) f->evidence["reaction"] = r.what;
            reaction = std::max(reaction, w) + (reaction > 0 ? kW.reaction_more : 0.0);
        }
        // Teased: how much of the cold open's quotes the clip holds, the moment the show's own editor picked. One
        // whole quote counts 0.6, two (a setup and its payoff, as teasers cut them) the full 1.
        double quoted = 0;
        for (const auto& tz : ctx->teases) {
            const Ms in = std::min(c.end_ms, tz.end_ms) - std::max(c.start_ms, tz.start_ms);
            if (in <= 0) continue;
            quoted += static_cast<double>(in) / static_cast<double>(std::max<Ms>(1, tz.end_ms - tz.start_ms));
            if (!f->evidence.count("teased")) f->evidence["teased"] = FormatClock(tz.teaser_ms, false);
        }
        teased = Clip01(kW.teased_per_quote * quoted);
        // Centrality: the mean TextRank percentile of the sentences that start in the clip (absent when none do).
        double centrality = 0, sentences = 0;
        for (const auto& [at, r] : ctx->centrality) {
            if (at >= c.start_ms && at < c.end_ms) centrality += r, sentences += 1;
        }
        if (sentences > 0) v["centrality"] = centrality / sentences;
        // A new topic starting inside the clip: it holds the end of one thing and the start of another.
        for (Ms b : ctx->topic_boundaries_ms) {
            if (b > c.start_ms + 5000 && b < c.end_ms - 5000) {
                f->evidence["topic_change"] = "changes topic";
                break;
            }
        }
    }
    v["reaction"] = Clip01(reaction);
    v["teased"] = teased;
}

// Quotable: one complete sentence of 6-20 words that speaks generally ("you", "people", "never"), free of filler;
// the clip's title when there is one.
void AddQuotable(const std::vector<Token>& t, ClipFeatures* f) {
    size_t begin = 0;
    double best = 0;
    for (size_t i = 0; i < t.size(); ++i) {
        if (!t[i].sentence_end) continue;
        const size_t len = i + 1 - begin;
        if (len >= 6 && len <= 20) {
            int filler = 0;
            for (size_t k = begin; k <= i; ++k) filler += IsFiller(t[k].norm) && t[k].norm != "so";
            const double general = WeighPhrases(t, kGeneral, begin, i + 1);
            const double q =
                filler == 0 && general > 0 ? std::min(1.0, kW.quotable_base + kW.quotable_general * general) : 0.0;
            if (q > best && !kMidThought.count(t[begin].norm)) {
                best = q;
                f->evidence["quotable"] = JoinRaw(t, begin, i + 1);
            }
        }
        begin = i + 1;
    }
    f->values["quotable"] = best;
}

// Reaction after (or at the end of) the clip, stories told in the past tense, surprising turns and a quotable
// line: what a stranger stops for, as opposed to how the clip opens and closes.
void AddMomentFeatures(const std::vector<Token>& t, const Candidate& c, const EpisodeContext* ctx, ClipFeatures* f) {
    auto& v = f->values;
    const double n = static_cast<double>(t.size());
    AddContextFeatures(c, ctx, f);
    // Story: narrators in the past tense ("I went", "she said"), and a story's opening.
    double narrative = 0;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
        if (!kNarrator.count(t[i].norm)) continue;
        const bool past = kPastVerb.count(t[i + 1].norm) ||
                          (i + 2 < t.size() && kPastVerb.count(t[i + 2].norm) && !t[i].sentence_end);
        narrative += past ? t[i].weight : 0.0;
    }
    size_t at = 0;
    const std::string open = FirstPhrase(t, kStoryOpen, 0, t.size(), &at);
    v["story"] =
        Clip01(narrative * 25.0 / std::max(n, 25.0) * kW.story_narrative + (open.empty() ? 0.0 : kW.story_open));
    if (!open.empty()) f->evidence["story"] = Quote(t, at, PhraseLen(open) + 5);
    // Surprise: a turn ("it turns out", "actually", "the opposite") and the numbers that make a fact.
    const double turns = WeighPhrases(t, kSurprise);
    double numbers = 0;
    for (const auto& tok : t) numbers += IsNumberWord(tok.norm) ? tok.weight : 0.0;
    v["surprise"] = Clip01(kW.surprise_turn * turns + kW.surprise_number * std::min(numbers, 5.0));
    if (turns > 0) {
        const std::string ph = FirstPhrase(t, kSurprise, 0, t.size(), &at);
        f->evidence["surprise"] = Quote(t, at, PhraseLen(ph) + 6);
    }
    AddQuotable(t, f);
}

// Hook: the first ~5 seconds. Returns the number of tokens in that opening; `pronoun_start` receives whether the
// clip opens on a pronoun that points back ("he", "that's").
size_t AddHook(const std::vector<Token>& t, const Candidate& c, const AudioFrames* frames, ClipFeatures* f,
               bool* pronoun_start) {
    const size_t head = HeadEnd(t, c.start_ms + 5000, 8, 20);
    double hook = kW.hook_base;
    size_t at = 0;
    if (auto ph = FirstPhrase(t, kCuriosity, 0, head, &at); !ph.empty()) {
        hook += kW.hook_curiosity * MatchWeight(t, at, PhraseLen(ph));
        f->evidence["hook"] = Quote(t, at, PhraseLen(ph) + 3);
    }
    if (auto ph = FirstPhrase(t, kStory, 0, head, &at); !ph.empty()) {
        hook += kW.hook_story * MatchWeight(t, at, PhraseLen(ph));
        if (!f->evidence.count("hook")) f->evidence["hook"] = Quote(t, at, PhraseLen(ph) + 4);
    }
    if (auto ph = FirstPhrase(t, kQuestionStart, 0, 3, &at); !ph.empty() && at <= 1) {
        hook += kW.hook_question * MatchWeight(t, at, PhraseLen(ph));
        f->evidence["hook_question"] = Quote(t, at, 7);
    }
    // A number or a "you" in the opening counts as much as the surest of them.
    double head_number = 0, head_you = 0;
    for (size_t i = 0; i < head; ++i) {
        if (IsNumberWord(t[i].norm) && t[i].norm != "half") head_number = std::max(head_number, t[i].weight);
        if (t[i].norm == "you" || t[i].norm == "your") head_you = std::max(head_you, t[i].weight);
    }
    const double head_bold = WeighPhrases(t, kBold, 0, head);
    hook += kW.hook_number * head_number + kW.hook_you * head_you +
            std::min(kW.hook_bold_max, kW.hook_bold_each * head_bold);
    f->starts_mid_thought = kMidThought.count(t[0].norm) > 0;
    *pronoun_start =
        kPronoun.count(t[0].norm) > 0 && FindPhrase(t, "it was", 0, 2) != 0 && FindPhrase(t, "this is", 0, 2) != 0;
    if (f->starts_mid_thought) {
        hook += kW.hook_mid_thought;
        f->evidence["mid_thought"] = Quote(t, 0, 4);
    } else if (*pronoun_start) {
        hook += kW.hook_pronoun;
        f->evidence["mid_thought"] = Quote(t, 0, 4);
    }
    if (frames) {
        const auto st = ComputeSpanStats(*frames, c.start_ms, std::min(c.end_ms, c.start_ms + 3000));
        if (st.onset_lift_db > 6) hook += kW.hook_onset;
    }
    f->values["hook"] = Clip01(hook);
    return head;
}

// The first piece of advice in toks[from, end): "you should", "make sure", ... anywhere, and a bare imperative
// ("Don't", "Stop", "Try") only where it opens a sentence: in conversation "I don't know" and "I'll try" are no
// advice. Returns the phrase ("" when none) and where it starts.
std::pair<std::string, size_t> FirstAdvice(const std::vector<Token>& t, size_t from) {
    static const std::unordered_set<std::string> kImperative = {"don't", "do not", "start", "stop", "try"};
    for (size_t k = from; k < t.size();) {
        size_t at = 0;
        const std::string ph = FirstPhrase(t, kActionable, k, t.size(), &at);
        if (ph.empty()) break;
        if (!kImperative.count(ph) || at == 0 || t[at - 1].sentence_end) return {ph, at};
        k = at + 1;
    }
    return {"", 0};
}

// Payoff: the last ~8 seconds (a conclusion in the body counts less). `head` is AddHook's opening.
void AddPayoff(const std::vector<Token>& t, const Candidate& c, size_t head, ClipFeatures* f) {
    size_t at = 0;
    const size_t tail = TailBegin(t, c.end_ms - 8000, 12);
    double payoff = kW.payoff_base;
    if (auto ph = FirstPhrase(t, kConclusion, tail, t.size(), &at); !ph.empty()) {
        const double more = kW.payoff_more_each * (CountPhrases(t, kConclusion, tail, t.size()) - 1);
        payoff = kW.payoff_base +
                 (kW.payoff_conclusion + std::min(kW.payoff_more_max, more)) * MatchWeight(t, at, PhraseLen(ph));
        f->evidence["payoff"] = Quote(t, at, PhraseLen(ph) + 5);
    } else if (auto ph2 = FirstPhrase(t, kConclusion, head, tail, &at); !ph2.empty()) {
        payoff = kW.payoff_base + kW.payoff_in_body * MatchWeight(t, at, PhraseLen(ph2));
        f->evidence["payoff"] = Quote(t, at, PhraseLen(ph2) + 5);
    }
    if (auto [ph, at_advice] = FirstAdvice(t, tail); !ph.empty()) {
        const double actionable = kW.payoff_base + kW.payoff_advice * MatchWeight(t, at_advice, PhraseLen(ph));
        if (payoff < actionable) {
            payoff = actionable;
            f->evidence["payoff"] = Quote(t, at_advice, PhraseLen(ph) + 5);
        }
    }
    payoff = std::max(payoff, kW.payoff_base + kW.payoff_explanation * std::min(1.0, WeighPhrases(t, kExplanation)));
    f->ends_dangling = IsDanglingEnd(t.back().norm);
    if (f->ends_dangling) payoff *= kW.payoff_dangling_factor;
    f->values["payoff"] = Clip01(payoff);
}

// Arousal: audio dynamics blended with intense wording (the text alone without `frames`).
void AddArousal(const std::vector<Token>& t, const Candidate& c, const AudioFrames* frames, ClipFeatures* f) {
    int exclaim = 0, caps = 0;
    for (const auto& tok : t) {
        exclaim += !tok.raw.empty() && tok.raw.back() == '!';
        caps +=
            tok.raw.size() > 2 && std::all_of(tok.raw.begin(), tok.raw.end(), [](char ch) {
                return !std::isalpha(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch));
            });
    }
    const double intense = WeighPhrases(t, kIntense);
    const double text_arousal =
        Clip01(kW.arousal_text_base + std::min(kW.arousal_intense_max, kW.arousal_intense_each * intense) +
               std::min(kW.arousal_exclaim_max, kW.arousal_exclaim_each * exclaim) +
               std::min(kW.arousal_caps_max, kW.arousal_caps_each * caps));
    if (intense > 0) f->evidence["arousal_text"] = FirstPhrase(t, kIntense, 0, t.size());
    double arousal = text_arousal;
    if (frames) {
        const auto st = ComputeSpanStats(*frames, c.start_ms, c.end_ms);
        const double pitch = Clip01((st.pitch_variation_st - 1.0) / 4.0);
        const double range = Clip01((st.dynamic_range_db - 6.0) / 18.0);
        const double loud = Clip01(0.5 + st.loudness_vs_episode_db / 6.0);
        const double audio = Clip01(kW.arousal_pitch * pitch + kW.arousal_range * range + kW.arousal_loud * loud +
                                    (st.laughter_bursts > 0 ? kW.arousal_laughter : 0.0));
        arousal = kW.arousal_audio_share * audio + (1 - kW.arousal_audio_share) * text_arousal;
        if (st.laughter_bursts > 0) f->evidence["laughter"] = "laughter-like bursts";
        if (pitch > 0.6) f->evidence["arousal_audio"] = "lively pitch";
    }
    f->values["arousal"] = Clip01(arousal);
}

// Emotion, questions and information density: what the words themselves carry.
void AddContentFeatures(const std::vector<Token>& t, ClipFeatures* f) {
    const double n = static_cast<double>(t.size());
    // Emotion.
    const double strong = WeighPhrases(t, kStrongEmotion), mild = WeighPhrases(t, kMildEmotion);
    f->values["emotion"] = Clip01((kW.emotion_strong * strong + kW.emotion_mild * mild) / kW.emotion_scale);
    if (strong + mild > 0) {
        f->evidence["emotion"] = FirstPhrase(t, kStrongEmotion, 0, t.size());
        if (f->evidence["emotion"].empty()) f->evidence["emotion"] = FirstPhrase(t, kMildEmotion, 0, t.size());
    }

    // Question.
    bool engaging = false;
    std::string q_ev;
    double q_weight = 0;
    const int questions = CountQuestions(t, &q_ev, &engaging, &q_weight);
    f->values["question"] = questions == 0 ? 0.0 : (engaging ? kW.question_engaging : kW.question_plain) * q_weight;
    if (questions > 0) f->evidence["question"] = q_ev;

    // Information density: numbers, names and content words, minus filler.
    // Specifics count by weight; filler counts in full (a guessed "um" is still not a specific).
    double numbers = 0, names = 0, content = 0;
    int fillers = 0;
    std::string num_ev;
    for (const auto& tok : t) {
        if (IsNumberWord(tok.norm)) {
            numbers += tok.weight;
            if (num_ev.size() < 40) num_ev += (num_ev.empty() ? "" : ", ") + tok.raw;
        }
        names += tok.capitalised ? tok.weight : 0.0;
        fillers += IsFiller(tok.norm) && tok.norm != "so" && tok.norm != "right" && tok.norm != "well";
        content += IsStopword(tok.norm) ? 0.0 : tok.weight;
    }
    fillers += CountPhrases(t, kMultiFiller);
    f->values["info_density"] = Clip01(kW.info_base + (kW.info_content * content + kW.info_numbers * numbers +
                                                       kW.info_names * names + kW.info_fillers * fillers) /
                                                          n);
    if (numbers > 0) f->evidence["numbers"] = num_ev;
    if (fillers * 8 > static_cast<int>(t.size())) f->evidence["filler"] = "lots of filler words";
}

}  // namespace

ClipFeatures ComputeFeatures(const std::vector<Word>& words, const Candidate& c, const AudioFrames* frames,
                             const Platform& platform, const EpisodeContext* context) {
    ClipFeatures f;
    const auto t = Tokenize(words, c.first_word, c.end_word);
    auto& v = f.values;
    if (t.empty()) return f;
    const Ms dur = c.DurationMs();
    double conf = 0, low = 0;
    const size_t end_word = std::min(c.end_word, words.size());
    for (size_t i = c.first_word; i < end_word; ++i) {
        conf += words[i].confidence;
        low += words[i].confidence < kLowConfidence ? 1 : 0;
    }
    if (end_word > c.first_word) {
        f.mean_confidence = conf / static_cast<double>(end_word - c.first_word);
        f.low_confidence_share = low / static_cast<double>(end_word - c.first_word);
    }

    bool pronoun_start = false;
    const size_t head = AddHook(t, c, frames, &f, &pronoun_start);
    AddPayoff(t, c, head, &f);
    AddArousal(t, c, frames, &f);

    AddContentFeatures(t, &f);

    // Loopability: ends cleanly, at a pause or on a conclusion, not too long.
    const bool pause_after =
        c.end_word >= words.size() || words[c.end_word].start_ms - c.end_ms >= 400 || t.back().sentence_end;
    const double loop = kW.loop_base + (f.ends_dangling ? 0.0 : kW.loop_clean_end) +
                        (pause_after ? kW.loop_pause : 0.0) + (v["payoff"] >= 0.8 ? kW.loop_payoff : 0.0) +
                        (t.size() <= 90 ? kW.loop_short : 0.0);
    v["loopability"] = Clip01(loop);

    // Self-contained: no references to earlier talk, no mid-thought start, no dangling end.
    double self = 1.0;
    size_t at = 0;
    if (auto ph = FirstPhrase(t, kBackReference, 0, t.size(), &at); !ph.empty()) {
        self += kW.self_back_reference;
        f.evidence["back_reference"] = Quote(t, at, PhraseLen(ph) + 2);
    }
    if (f.starts_mid_thought)
        self += kW.self_mid_thought;
    else if (pronoun_start)
        self += kW.self_pronoun;
    if (f.ends_dangling) self += kW.self_dangling;
    v["self_contained"] = Clip01(self);

    AddMomentFeatures(t, c, context, &f);
    if (f.evidence.count("topic_change")) v["self_contained"] = Clip01(v["self_contained"] + kW.self_topic_change);

    // Self-promotion short of a sponsor read (full ad reads never become candidates).
    const int promo = CountPhrases(t, kSelfPromo);
    v["ad_penalty"] = Clip01(kW.ad_self_promo * promo);

    v["platform_len_match"] = LengthMatch(platform, dur);

    // Every genre's own features, so rescoring for another genre needs no recomputation.
    const double per_min = std::max(0.5, static_cast<double>(dur) / 60000.0);
    for (const auto& g : AllGenres()) {
        for (const auto& gf : g.features) {
            const double hits = WeighPhrases(t, gf.phrases);
            v[gf.name] = Clip01(kW.genre_phrase * hits / per_min);
            if (hits > 0) f.evidence[gf.name] = FirstPhrase(t, gf.phrases, 0, t.size());
        }
    }
    return f;
}

}  // namespace podpromo
