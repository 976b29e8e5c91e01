// Behaviour of the scoring stage: each feature responds to what it claims to measure.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "podpromo/core/utf8.h"
#include "podpromo/scoring/candidates.h"
#include "podpromo/scoring/context.h"
#include "podpromo/scoring/features.h"
#include "podpromo/scoring/genre.h"
#include "podpromo/scoring/platform.h"
#include "podpromo/scoring/ranker.h"
#include "podpromo/scoring/text.h"

namespace podpromo {
namespace {

// Words at 3 words/s; each sentence ends with a 600 ms pause. Bare (recogniser-style) unless `punctuated`.
std::vector<Word> Speak(const std::vector<std::string>& sentences, Ms start = 0) {
    std::vector<Word> words;
    Ms t = start;
    for (const auto& s : sentences) {
        std::istringstream in(s);
        std::string w;
        while (in >> w) {
            words.push_back({w, t, t + 280, 0.9});
            t += 333;
        }
        t += 600;
    }
    return words;
}

ClipFeatures FeaturesOf(const std::vector<std::string>& sentences, const std::string& platform = "tiktok") {
    const auto words = Speak(sentences);
    Candidate c{0, words.size(), words.front().start_ms, words.back().end_ms};
    return ComputeFeatures(words, c, nullptr, PlatformByName(platform).value());
}

const std::vector<std::string> kDull = {"yeah so we were just talking about the weather before the show",
                                        "it has been kind of grey and rainy all week you know",
                                        "i had a coffee this morning and it was fine i guess"};

TEST(Platform, LengthMatchFollowsTheRanges) {
    const Platform tiktok = PlatformByName("tiktok").value();
    EXPECT_DOUBLE_EQ(LengthMatch(tiktok, 20000), 1.0);
    EXPECT_DOUBLE_EQ(LengthMatch(tiktok, 12000), 0.5);
    EXPECT_DOUBLE_EQ(LengthMatch(tiktok, 45000), 0.5);
    EXPECT_NEAR(LengthMatch(tiktok, 37500), 0.75, 1e-9);
    EXPECT_DOUBLE_EQ(LengthMatch(tiktok, 50000), 0.0);
    EXPECT_DOUBLE_EQ(LengthMatch(PlatformByName("linkedin").value(), 45000), 1.0);
    EXPECT_FALSE(PlatformByName("myspace").ok());
    for (const auto& p : AllPlatforms()) {
        EXPECT_GE(p.min_ms, kMinClipMs);
        EXPECT_LE(p.max_ms, kMaxClipMs);
    }
}

TEST(Text, PhrasesMatchOnNormalisedWords) {
    const auto t = Tokenize(Speak({"Here's the THING, nobody tells you."}), 0, 6);
    EXPECT_EQ(FindPhrase(t, "here's the thing"), 0u);
    EXPECT_EQ(FindPhrase(t, "nobody tells you"), 3u);
    EXPECT_EQ(FindPhrase(t, "tell*"), 4u);
    EXPECT_EQ(FindPhrase(t, "the secret"), std::string::npos);
    // Counted once per position, phrases of different lengths, and only inside [from, to).
    const auto u = Tokenize(Speak({"the secret the secret is the one thing"}), 0, 100);
    EXPECT_EQ(CountPhrases(u, {"the secret", "the one thing", "the"}), 3);
    EXPECT_EQ(CountPhrases(u, {"the secret"}, 1), 1);
    EXPECT_EQ(CountPhrases(u, {"the secret"}, 0, 3), 1);
    EXPECT_EQ(NormalizeWord("Here's"), "here's");
    EXPECT_EQ(NormalizeWord("2.5,"), "2.5");
    EXPECT_EQ(NormalizeWord("'end.'"), "end");
    EXPECT_TRUE(IsNumberWord("twenty"));
    EXPECT_TRUE(IsNumberWord("300"));
    EXPECT_FALSE(IsNumberWord("customers"));
}

TEST(Hook, CuriosityOpeningBeatsAMidThoughtStart) {
    const auto strong =
        FeaturesOf({"here's the thing nobody tells you about startups", "we burned two million dollars"});
    const auto mid = FeaturesOf({"and then he went to the store with it", "we burned two million dollars"});
    EXPECT_GE(strong.Get("hook"), 0.6);
    EXPECT_LT(mid.Get("hook"), 0.3);
    EXPECT_TRUE(mid.starts_mid_thought);
    EXPECT_LT(mid.Get("self_contained"), strong.Get("self_contained"));
}

TEST(Hook, QuestionOpeningWithoutAQuestionMark) {
    const auto q = FeaturesOf({"what if i told you our best hire never finished college", "she runs the team now"});
    EXPECT_GE(q.Get("hook"), 0.5);
    EXPECT_DOUBLE_EQ(q.Get("question"), 1.0);  // engaging, detected from wording alone
    EXPECT_DOUBLE_EQ(FeaturesOf(kDull).Get("question"), 0.0);
}

TEST(Payoff, ConclusionAtTheEndScoresHigh) {
    const auto lesson =
        FeaturesOf({"we lost three hundred customers in a week", "the lesson is simple announce every change early"});
    const auto none = FeaturesOf({"we lost three hundred customers in a week", "the office has a new coffee machine"});
    const auto dangling = FeaturesOf({"we lost three hundred customers in a week", "the lesson is simple and"});
    EXPECT_GE(lesson.Get("payoff"), 0.8);
    EXPECT_LE(none.Get("payoff"), 0.2);
    EXPECT_LT(dangling.Get("payoff"), lesson.Get("payoff"));
    EXPECT_TRUE(dangling.ends_dangling);
    EXPECT_LT(dangling.Get("loopability"), lesson.Get("loopability"));
}

// Advice closes a clip when it is advice: a bare "don't" or "try" counts where it opens a sentence (an
// imperative), not in "I don't know" or "I'll try".
TEST(Payoff, ABareImperativeIsAdviceOnlyWhereItOpensASentence) {
    const auto advice = FeaturesOf({"we lost three hundred customers in a week", "Don't raise prices overnight."});
    const auto talk = FeaturesOf({"we lost three hundred customers in a week", "honestly I don't know what happened"});
    EXPECT_GE(advice.Get("payoff"), 0.5);
    EXPECT_LE(talk.Get("payoff"), 0.2);
}

// A question known only by its mark is quoted up to the mark (the issue saw "Asks a question: “a question…”").
TEST(Question, AQuestionKnownByItsMarkIsQuotedUpToIt) {
    const auto f = FeaturesOf({"we talked for an hour about the gym and the diet and the sleep",
                               "You want a better body?", "then stop skipping the boring parts every single week"});
    EXPECT_EQ(f.evidence.at("question"), "You want a better body?");
    const auto inner = FeaturesOf({"It's not a day where I've said, where do I want to be going with my life?"});
    EXPECT_EQ(inner.evidence.at("question"), "\u2026where do I want to be going with my life?");
}

TEST(InfoDensity, NumbersRaiseFillerLowers) {
    const auto dense = FeaturesOf({"revenue grew forty percent to twelve million dollars in eighteen months"});
    const auto filler = FeaturesOf({"um yeah like you know it was kind of um sort of okay i mean yeah"});
    EXPECT_GT(dense.Get("info_density"), 0.6);
    EXPECT_LT(filler.Get("info_density"), 0.2);
}

TEST(Emotion, EmotionalWordsRaiseIt) {
    EXPECT_GE(FeaturesOf({"i was terrified and i cried for days i was heartbroken"}).Get("emotion"), 0.8);
    EXPECT_DOUBLE_EQ(FeaturesOf(kDull).Get("emotion"), 0.0);
}

TEST(SelfContained, BackReferencesAreNotSelfContained) {
    const auto back = FeaturesOf({"as i said before the product was late", "we shipped it in march anyway"});
    EXPECT_LE(back.Get("self_contained"), 0.5);
    EXPECT_EQ(FeaturesOf(kDull).Get("self_contained") > back.Get("self_contained"), true);
}

TEST(Ads, SponsorReadIsFoundAndCandidatesKeepClear) {
    std::vector<std::string> s = kDull;
    s.insert(s.end(), {"this episode is sponsored by cloud ledger",
                       "go to cloud ledger dot com slash podcast and use code growth for twenty percent off",
                       "that is cloud ledger dot com slash podcast"});
    s.insert(s.end(), kDull.begin(), kDull.end());
    s.insert(s.end(), kDull.begin(), kDull.end());
    const auto words = Speak(s);
    const auto ads = DetectAdSpans(words);
    ASSERT_EQ(ads.size(), 1u);
    // The whole read, and nothing of the talk around it.
    size_t first_ad_word = 0;
    for (const auto& sent : std::vector<std::string>(kDull))
        first_ad_word += std::count(sent.begin(), sent.end(), ' ') + 1;
    EXPECT_EQ(ads[0].start_ms, words[first_ad_word].start_ms);
    EXPECT_GT(ads[0].end_ms, words[first_ad_word + 25].start_ms);
    const auto cands = GenerateCandidates(words, PlatformByName("tiktok").value(), ads);
    ASSERT_FALSE(cands.empty());
    const auto starts = SentenceStarts(words);
    for (const auto& c : cands) {
        EXPECT_TRUE(c.end_ms <= ads[0].start_ms - 1000 || c.start_ms >= ads[0].end_ms + 1000);
        EXPECT_GE(c.DurationMs(), 12000);
        EXPECT_LE(c.DurationMs(), 45000);
        EXPECT_TRUE(starts[c.first_word]);
        EXPECT_TRUE(c.end_word == words.size() || starts[c.end_word]);
    }
}

TEST(Ads, OrdinaryTalkIsNotAnAd) {
    EXPECT_TRUE(DetectAdSpans(Speak(kDull)).empty());
    EXPECT_TRUE(DetectAdSpans(Speak({"we went to the website and read the code together"})).empty());
}

TEST(Genre, DetectedFromVocabulary) {
    auto detect = [](const std::vector<std::string>& s) {
        const auto w = Speak(s);
        return DetectGenre(Tokenize(w, 0, w.size())).genre;
    };
    EXPECT_EQ(detect({"our startup raised funding from investors and revenue grew", "customers loved the product",
                      "the founder hired a sales team", "the market was brutal"}),
              "business");
    EXPECT_EQ(detect({"the detective found the body", "the suspect had no alibi", "police arrested him for the murder",
                      "the victim disappeared"}),
              "true_crime");
    EXPECT_EQ(detect(kDull), "general");
    // Everyday words are not comedy ("a bit", "can't stand"); work talk a recogniser gets right is business.
    EXPECT_EQ(detect({"the office is a bit bigger and i can't stand the coffee", "we had meetings all week",
                      "she joined as an intern and now runs a team of engineers", "we raised prices a bit"}),
              "business");
    EXPECT_FALSE(GenreByName("opera").ok());
}

// The best three clips of `words` for TikTok, ranked as business, every candidate scored.
std::vector<ScoredClip> RankThree(const std::vector<Word>& words) {
    const Platform tiktok = PlatformByName("tiktok").value();
    const auto cands = GenerateCandidates(words, tiktok, {});
    std::vector<ClipFeatures> feats;
    feats.reserve(cands.size());
    for (const auto& c : cands) feats.push_back(ComputeFeatures(words, c, nullptr, tiktok));
    RankOptions opts;
    opts.max_clips = 3;
    return RankClips(words, cands, feats, GenreByName("business").value(), tiktok, opts);
}

// Recognisers write the pronoun in lower case; a clip's title, like its captions, gives it its capital.
TEST(Ranker, TitlesWriteThePronounIUpperCase) {
    std::vector<std::string> s;
    for (int i = 0; i < 3; ++i) s.insert(s.end(), kDull.begin(), kDull.end());
    s.insert(s.end(), {"i think i'm the only founder who fired myself from the sales job",
                       "and honestly i'd do it again because it saved the company"});
    for (int i = 0; i < 3; ++i) s.insert(s.end(), kDull.begin(), kDull.end());
    const auto clips = RankThree(Speak(s));
    bool pronoun = false;
    for (const auto& c : clips) {
        const std::string padded = " " + c.title + " ";
        for (const char* lower : {" i ", " i'm ", " i'd "}) EXPECT_EQ(padded.find(lower), std::string::npos) << c.title;
        pronoun |= padded.find(" I ") != std::string::npos || padded.find(" I'm ") != std::string::npos;
    }
    EXPECT_TRUE(pronoun) << "no title holds the pronoun: the test says nothing";
}

TEST(Ranker, PicksTheStrongMomentsWithoutOverlapAndExplains) {
    std::vector<std::string> s;
    for (int i = 0; i < 3; ++i) s.insert(s.end(), kDull.begin(), kDull.end());
    const size_t strong_at = s.size();
    s.insert(s.end(), {"here's the thing nobody tells you about startups",
                       "we burned through two million dollars in eighteen months",
                       "what saved us was one phone call with an angry customer",
                       "that's why i tell every founder to call five customers every week"});
    for (int i = 0; i < 3; ++i) s.insert(s.end(), kDull.begin(), kDull.end());
    const auto words = Speak(s);
    size_t first = 0;
    for (size_t i = 0; i < strong_at; ++i) first += std::count(s[i].begin(), s[i].end(), ' ') + 1;
    const auto clips = RankThree(words);
    ASSERT_EQ(clips.size(), 3u);
    // The best clip starts on the hook.
    EXPECT_EQ(clips[0].candidate.first_word, first);
    EXPECT_GT(clips[0].score, clips[1].score);
    EXPECT_EQ(clips[0].confidence, Confidence::kHigh);
    ASSERT_FALSE(clips[0].explanation.empty());
    bool mentions_hook = false;
    for (const auto& e : clips[0].explanation) mentions_hook |= e.find("here's the thing") != std::string::npos;
    EXPECT_TRUE(mentions_hook);
    EXPECT_EQ(clips[0].title.substr(0, 16), "Here's the thing");
    EXPECT_GE(clips[0].hashtags.size(), 3u);
    EXPECT_LE(clips[0].hashtags.size(), 5u);
    for (size_t i = 0; i < clips.size(); ++i)
        for (size_t j = i + 1; j < clips.size(); ++j)
            EXPECT_TRUE(clips[i].candidate.end_ms <= clips[j].candidate.start_ms ||
                        clips[j].candidate.end_ms <= clips[i].candidate.start_ms);
}

TEST(Ranker, RescoringForAnotherPlatformReusesFeatures) {
    const auto f = FeaturesOf({"here's the thing nobody tells you about startups", "that's why you call customers"});
    const Platform tiktok = PlatformByName("tiktok").value(), linkedin = PlatformByName("linkedin").value();
    const GenreProfile g = GenreByName("general").value();
    // 16 s suits TikTok better than LinkedIn (which wants 30-60 s).
    EXPECT_GT(ScoreClip(f, g, tiktok, 16000), ScoreClip(f, g, linkedin, 16000));
    EXPECT_GT(ScoreClip(f, g, linkedin, 40000), ScoreClip(f, g, linkedin, 16000));
}

TEST(Ranker, AQuestionOpeningIsExplainedOnce) {
    const auto words = Speak({"what if i told you our best hire never finished college",
                              "she joined as an intern and within three years she ran a team of forty engineers",
                              "the lesson is simple hire for curiosity not for credentials"});
    const Platform tiktok = PlatformByName("tiktok").value();
    const Candidate c{0, words.size(), words.front().start_ms, words.back().end_ms};
    const auto clip = DescribeClip(words, c, ComputeFeatures(words, c, nullptr, tiktok), GenreByName("general").value(),
                                   tiktok, WordCounts(words));
    int quoting_the_opening = 0;
    for (const auto& e : clip.explanation) quoting_the_opening += e.find("what if i told you") != std::string::npos;
    EXPECT_EQ(quoting_the_opening, 1);
    EXPECT_EQ(clip.explanation.front().rfind("Opens with a question", 0), 0u) << clip.explanation.front();
}

// The same words heard with little confidence say less: the hook, payoff, question and specifics weigh less,
// and the explanation warns that the transcript may be wrong.
TEST(Confidence, LowConfidenceWordsWeighLessAndAreNamed) {
    const std::vector<std::string> s = {"here's the thing nobody tells you about startups",
                                        "what if you lost two million dollars in a week",
                                        "the lesson is simple call five customers every week"};
    auto sure = Speak(s);
    auto unsure = sure;
    for (auto& w : unsure) w.confidence = 0.2;
    const Platform tiktok = PlatformByName("tiktok").value();
    const Candidate c{0, sure.size(), sure.front().start_ms, sure.back().end_ms};
    const auto fs = ComputeFeatures(sure, c, nullptr, tiktok);
    const auto fu = ComputeFeatures(unsure, c, nullptr, tiktok);
    for (const char* f : {"hook", "payoff", "question", "info_density"}) {
        EXPECT_LT(fu.Get(f), fs.Get(f) - 0.05) << f;
    }
    EXPECT_DOUBLE_EQ(fs.low_confidence_share, 0.0);
    EXPECT_DOUBLE_EQ(fu.low_confidence_share, 1.0);
    const auto g = GenreByName("general").value();
    const auto a = DescribeClip(sure, c, fs, g, tiktok, WordCounts(sure));
    const auto b = DescribeClip(unsure, c, fu, g, tiktok, WordCounts(unsure));
    auto warns = [](const ScoredClip& clip) {
        return std::any_of(clip.explanation.begin(), clip.explanation.end(),
                           [](const std::string& e) { return e.rfind("Mostly low-confidence words (100%", 0) == 0; });
    };
    EXPECT_FALSE(warns(a));
    EXPECT_TRUE(warns(b));
    EXPECT_EQ(b.confidence, Confidence::kLow);
    EXPECT_GT(a.score, b.score);
    // A few unsure words among sure ones are no reason to warn.
    auto mixed = sure;
    for (size_t i = 0; i < mixed.size(); i += 4) mixed[i].confidence = 0.2;
    const auto fm = ComputeFeatures(mixed, c, nullptr, tiktok);
    EXPECT_LT(fm.low_confidence_share, 0.5);
    EXPECT_FALSE(warns(DescribeClip(mixed, c, fm, g, tiktok, WordCounts(mixed))));
    // Imported words carry confidence 1 and count in full.
    EXPECT_DOUBLE_EQ(WordWeight(1.0), 1.0);
    EXPECT_DOUBLE_EQ(WordWeight(kSureConfidence), 1.0);
    EXPECT_DOUBLE_EQ(WordWeight(0.0), 0.25);
}

TEST(Ranker, DisplayScoreIsMonotoneAndBounded) {
    EXPECT_EQ(DisplayScore(0.0), 0);
    EXPECT_EQ(DisplayScore(0.35), 50);
    EXPECT_EQ(DisplayScore(0.75), 90);
    EXPECT_EQ(DisplayScore(1.0), 100);
    for (double s = 0; s < 1.0; s += 0.05) EXPECT_LE(DisplayScore(s), DisplayScore(s + 0.05));
}

// Real transcripts: punctuation decides sentences, a cue's gap does not; bare words without pauses still get some.
TEST(Sentences, PunctuationOverCueGapsAndLongestGapsForBareCaptions) {
    std::vector<Word> w = {{"So", 0, 200},       {"I", 300, 400},    {"told", 2000, 2200},
                           {"him.", 2300, 2500}, {"He", 2600, 2700}, {"laughed.", 2800, 3000}};
    for (int i = 0; i < 60; ++i) w.push_back({i % 10 == 9 ? "end." : "word", 4000 + i * 300, 4200 + i * 300});
    ASSERT_TRUE(IsPunctuated(w));
    auto starts = SentenceStarts(w);
    EXPECT_FALSE(starts[2]) << "a 1.6 s cue gap inside a sentence";
    EXPECT_TRUE(starts[4]);
    // Automatic captions: no punctuation, contiguous times, one gap of 120 ms every 12 words.
    std::vector<Word> bare;
    Ms t = 0;
    for (int i = 0; i < 240; ++i) {
        bare.push_back({"word", t, t + 280});
        t += i % 12 == 11 ? 400 : 280;
    }
    ASSERT_FALSE(IsPunctuated(bare));
    starts = SentenceStarts(bare);
    const long n = std::count(starts.begin(), starts.end(), true);
    EXPECT_GE(n, 10);
    EXPECT_LE(n, 25);
    EXPECT_TRUE(starts[12]);
}

TEST(Ads, AReadIsOneBlockWithItsCuelessMiddleAndItsSponsorsLaterPlug) {
    std::vector<std::string> s = kDull;
    s.insert(s.end(), {"This episode is brought to you by Acme Ledger.",
                       "Keeping your books straight is hard when you are busy running things.",
                       "Our accountant swears it saved her a month of evenings every year.",
                       "Go to acmeledger.com/show and get three months free."});
    for (int i = 0; i < 12; ++i) s.insert(s.end(), kDull.begin(), kDull.end());
    s.push_back("Honestly Acme Ledger is the only app I open every day, sign up today.");
    s.insert(s.end(), kDull.begin(), kDull.end());
    const auto words = Speak(s);
    const auto ads = DetectAdSpans(words);
    ASSERT_EQ(ads.size(), 2u);
    size_t read = 0;  // the first word of the read
    while (words[read].text != "This") ++read;
    EXPECT_EQ(ads[0].start_ms, words[read].start_ms);
    EXPECT_EQ(ads[0].end_ms, words[read + 9 + 12 + 12 + 7].end_ms) << "through the offer, middle included";
    EXPECT_FALSE(ads[0].cue.empty());
    EXPECT_GT(ads[1].start_ms, ads[0].end_ms + 60000) << "the plug, by the sponsor's name";
    EXPECT_TRUE(DetectAdSpans(Speak({"we talked about that for an hour and then went home happy"})).empty());
}

// A read as podcast hosts give it: no "sponsored by", the brand said again and again and its address at the end
// ("Plaud.ai": the brand in the address names the sponsor); a network cross-promo found "wherever podcasts are";
// and a long fund-drive sentence thick with promotion words.
TEST(Ads, TheBrandInTheAddressCrossPromosAndFundDrivesAreFound) {
    std::vector<std::string> s = kDull;
    s.insert(s.end(), {"Decisions get made and then the details slip.", "Plaud fixes that for busy people.",
                       "Clip Plaud to your phone and hit record.", "Find Plaud at Plaud.ai."});
    s.insert(s.end(), kDull.begin(), kDull.end());
    s.insert(s.end(), {"You can find them wherever podcasts are."});
    s.insert(s.end(), kDull.begin(), kDull.end());
    s.insert(s.end(), {"We will be offering great gifts for new members and you can support shows like ours, all the "
                       "shows you support and love, all the shows you love and support, starting in the spring."});
    s.insert(s.end(), kDull.begin(), kDull.end());
    const auto words = Speak(s);
    const auto ads = DetectAdSpans(words);
    auto at = [&](const std::string& text) {
        size_t i = 0;
        while (i < words.size() && words[i].text != text) ++i;
        return i < words.size() ? words[i].start_ms : Ms{-1};
    };
    auto covered = [&](Ms t) {
        return std::any_of(ads.begin(), ads.end(), [&](const AdSpan& a) { return a.start_ms <= t && t < a.end_ms; });
    };
    EXPECT_TRUE(covered(at("Clip"))) << "the brand's sentences belong to the read";
    EXPECT_TRUE(covered(at("Plaud.ai.")));
    EXPECT_TRUE(covered(at("wherever")));
    EXPECT_TRUE(covered(at("gifts")));
    EXPECT_FALSE(covered(at("coffee"))) << "the small talk is not promotion";
    EXPECT_TRUE(DetectAdSpans(Speak({"I remember when we tried to support each other as new members of the club and "
                                     "offered to share the shows we loved with everyone in town that summer"}))
                    .empty())
        << "two promotion words in a long sentence are talk";
}

TEST(Moments, AReactionAfterTheClipAndATopicChangeInsideIt) {
    std::vector<std::string> s = {"I went to the market and I bought a fish for my cat last year.",
                                  "The fish was so big that the cat ran away from it.",
                                  "Then I realised the fish was still alive and it jumped off the table."};
    s.push_back("No way!");
    const auto words = Speak(s);
    const EpisodeContext ctx = BuildEpisodeContext(words, {});
    ASSERT_EQ(ctx.reactions.size(), 1u);
    EXPECT_EQ(ctx.reactions[0].what, "No way!");
    const size_t story_end = words.size() - 2;
    Candidate c{0, story_end, words.front().start_ms, words[story_end - 1].end_ms};
    const auto with = ComputeFeatures(words, c, nullptr, PlatformByName("tiktok").value(), &ctx);
    const auto without = ComputeFeatures(words, c, nullptr, PlatformByName("tiktok").value(), nullptr);
    EXPECT_GE(with.Get("reaction"), 0.9);
    EXPECT_EQ(without.Get("reaction"), 0.0);
    EXPECT_EQ(with.evidence.at("reaction"), "No way!");
    const auto g = GenreByName("general").value();
    const auto described = DescribeClip(words, c, with, g, PlatformByName("tiktok").value(), WordCounts(words));
    EXPECT_TRUE(std::any_of(described.explanation.begin(), described.explanation.end(), [](const std::string& e) {
        return e.find("reaction") != std::string::npos && e.find("No way!") != std::string::npos;
    })) << "the explanation quotes the reaction";
    const auto present = Speak({"People buy fish at markets and cats often like fish a lot more than dogs do.",
                                "Fish can be big and cats can be scared of big things sometimes.",
                                "It is usually fine to keep a fish in a bowl on the kitchen table."});
    const Candidate pc{0, present.size(), present.front().start_ms, present.back().end_ms};
    EXPECT_GT(with.Get("story"),
              ComputeFeatures(present, pc, nullptr, PlatformByName("tiktok").value()).Get("story") + 0.3)
        << "told in the past tense by its narrator";
    // Laughter marked in a transcript is a reaction too.
    const EpisodeContext laughs = BuildEpisodeContext(words, {{"laughter", c.end_ms + 500, c.end_ms + 1500}});
    EXPECT_TRUE(std::any_of(laughs.reactions.begin(), laughs.reactions.end(),
                            [](const Reaction& r) { return r.what == "laughter"; }));

    // TextTiling: two topics, one after the other, meet at a boundary near where they meet.
    std::vector<std::string> topics;
    topics.reserve(40);
    for (int i = 0; i < 20; ++i) topics.push_back("the rocket engine burned fuel and the rocket reached orbit fast.");
    for (int i = 0; i < 20; ++i) topics.push_back("my grandmother baked bread and cookies in her kitchen oven.");
    const auto tw = Speak(topics);
    const auto tc = BuildEpisodeContext(tw, {});
    ASSERT_FALSE(tc.topic_boundaries_ms.empty());
    size_t first_bread = 0;
    while (tw[first_bread].text != "my") ++first_bread;
    const Ms meet = tw[first_bread].start_ms;
    EXPECT_TRUE(std::any_of(tc.topic_boundaries_ms.begin(), tc.topic_boundaries_ms.end(),
                            [&](Ms b) { return std::llabs(b - meet) < 5000; }));

    // The show's own chapters are boundaries too (not the first, at the start), and the inferred one they agree with
    // is not counted twice.
    const Ms late = tw.back().end_ms - 10000;
    const auto with_chapters = BuildEpisodeContext(tw, {}, {}, {{0, "Intro"}, {meet + 3000, "Bread"}, {late, "Coda"}});
    EXPECT_EQ(with_chapters.topic_boundaries_ms, (std::vector<Ms>{meet + 3000, late}));
}

// Produced shows open with a teaser cut from their best moments: the moment said in full later is the one the
// show's editor picked. A short shared phrase, or a sponsor read heard twice, is no tease.
TEST(Moments, TheColdOpenTeasesAMomentSaidInFullLater) {
    const std::string moment =
        "every worthwhile change in your life starts by making things worse before they get better";
    const std::string plug = "this episode is brought to you by acme the only anvil company your coyote will ever need";
    std::vector<std::string> s = {moment, "also we talked about the weather for a bit", plug, "welcome to the show"};
    for (int i = 0; i < 60; ++i)
        s.push_back("and then we moved on to talk about " + std::to_string(i) + " other things");
    const size_t said_at = s.size();
    s.push_back("here is what I keep telling my students");
    s.push_back(moment);
    s.push_back("that is the whole idea");
    s.push_back("also we talked about the weather for a bit");  // nine words again: too short for a tease
    for (int i = 0; i < 10; ++i) s.push_back("we kept going with question number " + std::to_string(i));
    const size_t plug_at = s.size();
    s.push_back(plug);
    const auto words = Speak(s);
    size_t first_word_of = 0, plug_word = 0;
    for (size_t k = 0, w = 0; k < s.size(); ++k) {
        if (k == said_at + 1) first_word_of = w;
        if (k == plug_at) plug_word = w;
        w += static_cast<size_t>(std::count(s[k].begin(), s[k].end(), ' ') + 1);
    }
    const std::vector<AdSpan> ads = {{words[plug_word].start_ms, words.back().end_ms, "brought to you by"}};
    const EpisodeContext ctx = BuildEpisodeContext(words, {}, ads);
    ASSERT_EQ(ctx.teases.size(), 1u) << "the moment only: not the nine words, not the sponsor read";
    EXPECT_EQ(ctx.teases[0].start_ms, words[first_word_of].start_ms);
    EXPECT_EQ(ctx.teases[0].words, 15u);
    EXPECT_EQ(ctx.teases[0].teaser_ms, 0);
    EXPECT_EQ(BuildEpisodeContext(words, {}).teases.size(), 2u) << "without the ad span, the read repeats too";

    // A clip holding the moment carries it, and says so; the same words nowhere else teased carry nothing.
    const Candidate c{first_word_of - 8, first_word_of + 15, words[first_word_of - 8].start_ms,
                      words[first_word_of + 14].end_ms};
    const auto platform = PlatformByName("tiktok").value();
    const auto f = ComputeFeatures(words, c, nullptr, platform, &ctx);
    EXPECT_DOUBLE_EQ(f.Get("teased"), 0.6) << "one whole quote";
    const auto g = GenreByName("general").value();
    const auto described = DescribeClip(words, c, f, g, platform, WordCounts(words));
    EXPECT_NE(described.explanation.front().find("cold open teases it (at 0:00)"), std::string::npos)
        << described.explanation.front();
    const auto plain = ComputeFeatures(words, c, nullptr, platform, nullptr);
    EXPECT_EQ(plain.Get("teased"), 0.0);
    EXPECT_GT(ScoreClip(f, g, platform, c.DurationMs()), ScoreClip(plain, g, platform, c.DurationMs()));
}

// A transcript of one phrase over and over (hostile, or a song's chorus) is no tease, and is read in linear time:
// each opening position would otherwise compare itself with every later one, to the end.
TEST(Moments, ARepeatedChorusIsNoTeaseAndStaysCheap) {
    const auto words = Speak(std::vector<std::string>(4000, "la la la la la"));
    EXPECT_TRUE(BuildEpisodeContext(words, {}).teases.empty());
}

// TextRank: the sentences an episode keeps coming back to are central; the one-off anecdote is not, and a clip
// of it ranks above the same clip made of the recurring subject said once more.
TEST(Moments, TheRecurringSubjectIsCentralTheAnecdoteIsNot) {
    std::vector<std::string> s;
    for (int i = 0; i < 12; ++i) {
        s.push_back("attention regulation matters for developers who struggle with focus at work every day");
        s.push_back("developers with focus problems need attention regulation tools at work");
    }
    const size_t anecdote = s.size();
    s.push_back("my grandfather once smuggled a piano across the frozen lake in february");
    for (int i = 0; i < 12; ++i) s.push_back("focus and attention regulation at work help developers every day");
    const auto words = Speak(s);
    const EpisodeContext ctx = BuildEpisodeContext(words, {});
    ASSERT_EQ(ctx.centrality.size(), s.size());
    EXPECT_EQ(ctx.centrality[anecdote].second, 0.0) << "the least central sentence";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i == anecdote) continue;
        EXPECT_GT(ctx.centrality[i].second, 0.0) << i;
    }
    // Two clips alike in everything but their centrality: the aside wins.
    const auto platform = PlatformByName("tiktok").value();
    const auto g = GenreByName("general").value();
    ClipFeatures central, aside;
    central.values = {{"hook", 0.5}, {"self_contained", 1.0}, {"centrality", 0.9}};
    aside.values = {{"hook", 0.5}, {"self_contained", 1.0}, {"centrality", 0.1}};
    EXPECT_GT(ScoreClip(aside, g, platform, 30000), ScoreClip(central, g, platform, 30000));
    // A transcript too long to compare every pair of sentences is not ranked at all.
    const auto huge = Speak(std::vector<std::string>(kMaxRankedSentences + 1, "one more sentence about work"));
    EXPECT_TRUE(BuildEpisodeContext(huge, {}).centrality.empty());
}

TEST(Ranker, TitlesAreCompletePhrasesAndClipsSpreadOut) {
    const auto words =
        Speak({"When I was thirteen years old I used to listen to these motivational tapes while "
               "mowing lawns for the neighbours of my parents.",
               "And that changed everything for me."});
    Candidate c{0, words.size(), words.front().start_ms, words.back().end_ms};
    const auto g = GenreByName("general").value();
    const auto p = PlatformByName("tiktok").value();
    const auto clip = DescribeClip(words, c, ComputeFeatures(words, c, nullptr, p), g, p, WordCounts(words));
    EXPECT_FALSE(clip.title.empty());
    const std::string last = clip.title.substr(clip.title.find_last_of(' ') + 1);
    EXPECT_FALSE(IsDanglingEnd(NormalizeWord(last))) << clip.title;
    // Spread: equal scores, two candidates close together and one far away: the far one comes second.
    std::vector<Candidate> cands = {{0, 1, 0, 20000}, {0, 1, 30000, 50000}, {0, 1, 600000, 620000}};
    const auto chosen = SelectClips(cands, {0.9, 0.85, 0.8}, p, RankOptions{2, 2000});
    ASSERT_EQ(chosen.size(), 2u);
    EXPECT_EQ(chosen[1], 2u);
}

}  // namespace
}  // namespace podpromo

namespace podpromo {
namespace {

// Each platform's post text fits its limit and reads as that platform wants it.
TEST(PostText, EachPlatformGetsItsOwnShapeWithinItsLimit) {
    const std::string title(
        "The biggest mistake I ever made was raising prices by ten percent overnight without telling anyone at all, "
        "and here is what our customers taught us about surprise in the weeks that followed it, which is a story about "
        "trust, about timing, and about the one email we should have sent a month before any of it happened");
    const std::string quote =
        "We lost three hundred customers in one week. It turns out people do not leave because "
        "of price; they leave because they feel surprised.";
    const std::vector<std::string> tags = {"#Pricing", "#Startups", "#Business", "#Podcast", "#Founders", "#Lessons"};
    for (const auto& p : AllPlatforms()) {
        const PostText post = PostTextFor(p, title, quote, tags);
        EXPECT_LE(Utf8Length(post.text), post.limit) << p.name << ": " << post.text;
        EXPECT_NE(post.text.find("#Pricing"), std::string::npos) << p.name;
    }
    const PostText x = PostTextFor(*PlatformByName("x"), title, quote, tags);
    EXPECT_EQ(x.limit, 280u);
    EXPECT_NE(x.text.find("…"), std::string::npos) << "the long title is cut at a word: " << x.text;
    EXPECT_EQ(x.text.find("#Business"), std::string::npos) << "two hashtags on X";
    const PostText shorts = PostTextFor(*PlatformByName("shorts"), title, quote, tags);
    EXPECT_LE(Utf8Length(shorts.text), 100u);
    EXPECT_NE(shorts.text.find("#Shorts"), std::string::npos);
    const PostText linkedin = PostTextFor(*PlatformByName("linkedin"), title, quote, tags);
    EXPECT_NE(linkedin.text.find("“We lost three hundred customers"), std::string::npos) << "the quoted line";
    EXPECT_EQ(linkedin.text.find("#Podcast"), std::string::npos) << "three hashtags on LinkedIn";
    const PostText tiktok = PostTextFor(*PlatformByName("tiktok"), title, quote, tags);
    EXPECT_NE(tiktok.text.find("#Founders"), std::string::npos) << "five hashtags on TikTok";
    EXPECT_EQ(tiktok.text.find("#Lessons"), std::string::npos);
}

}  // namespace
}  // namespace podpromo
