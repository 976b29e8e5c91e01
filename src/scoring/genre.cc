#include "podpromo/scoring/genre.h"

#include <algorithm>

#include "lookup.h"

namespace podpromo {
namespace {

ScoringPath HookPath() {
    return {"hook",
            {{"hook", .40},
             {"arousal", .10},
             {"info_density", .10},
             {"platform_len_match", .10},
             {"loopability", .05},
             {"self_contained", .10}}};
}
// (The closing phrase, "payoff", weighs on no path: moments_eval --signals found it telling a reader's moments
// from the rest less often than chance on real talk.)
ScoringPath InsightPath() {
    return {
        "insight",
        {{"info_density", .20}, {"emotion", .10}, {"hook", .15}, {"platform_len_match", .10}, {"self_contained", .10}}};
}
ScoringPath EnergyPath() {
    return {"energy",
            {{"arousal", .30},
             {"emotion", .25},
             {"hook", .20},
             {"loopability", .10},
             {"platform_len_match", .10},
             {"question", .05}}};
}
ScoringPath StructuredPath() {
    return {"structured",
            {{"question", .20},
             {"info_density", .20},
             {"hook", .15},
             {"platform_len_match", .15},
             {"self_contained", .10}}};
}
// What a stranger stops for, in any genre: a reaction after it, a story, a surprising turn, a quotable line.
ScoringPath MomentPath() {
    return {"moment",
            {{"reaction", .25},
             {"story", .15},
             {"surprise", .15},
             {"quotable", .10},
             {"hook", .10},
             {"self_contained", .10},
             {"platform_len_match", .05}}};
}
// A genre's own path: its two features carry most of the weight, the opening and fit the rest.
ScoringPath OwnPath(const std::string& name, const std::string& a, const std::string& b) {
    return {name, {{a, .25}, {b, .20}, {"hook", .20}, {"platform_len_match", .10}, {"self_contained", .10}}};
}

GenreProfile GeneralGenre() {
    return {"general", "General", {}, {}, {HookPath(), InsightPath(), EnergyPath(), StructuredPath()}, {}};
}

GenreProfile BusinessGenre() {
    return {
        "business",
        "Business",
        {"business",  "company",    "companies",   "startup", "startups",   "founder",      "founders",
         "customer",  "customers",  "revenue",     "market",  "marketing",  "sales",        "investor",
         "investors", "funding",    "profit",      "profits", "strategy",   "ceo",          "hiring",
         "brand",     "pricing",    "margin",      "margins", "valuation",  "entrepreneur", "entrepreneurs",
         "employees", "leadership", "competitors",  // Work talk the recogniser gets right more often than the jargon.
         "engineers", "intern",     "interns",     "clients", "client",     "boss",         "manager",
         "managers",  "salary",     "equity",      "shares",  "colleagues", "coworkers"},
        {{"authority",
          "speaks from experience",
          {"i built", "we built", "i founded", "we grew", "we raised", "i learned", "in my experience", "we launched",
           "i hired", "i ran", "we hit", "i started", "we scaled", "i made"}},
         {"specificity",
          "gives concrete figures",
          {"percent", "million", "billion", "thousand", "revenue", "dollars", "customers", "months", "years",
           "per cent"}}},
        {HookPath(), InsightPath(), OwnPath("business", "authority", "specificity"), StructuredPath()},
        {{"linkedin", 1.15}, {"tiktok", 0.95}}};
}

GenreProfile ComedyGenre() {
    return {"comedy",
            "Comedy",
            // Not "bit" or "stand": "a bit", "I can't stand" are everyday talk.
            {"funny",  "joke",     "jokes",   "joking",       "laugh",      "laughing", "laughed", "hilarious",
             "comedy", "comedian", "standup", "crowd",        "ridiculous", "stupid",   "weird",   "awkward",
             "drunk",  "roast",    "prank",   "embarrassing", "punchline",  "sketch",   "kidding", "laughter",
             "improv", "gag",      "goofy",   "silly",        "dumb"},
            {{"setup_punchline",
              "has a setup and punchline",
              {"so i", "and then", "turns out", "the punchline", "guess what", "you know what", "and he goes",
               "and she goes", "i was like"}},
             {"absurdity", "goes absurd", {"ridiculous", "insane", "crazy", "weird", "absurd", "stupid", "hilarious"}}},
            {HookPath(), EnergyPath(), OwnPath("comedy", "setup_punchline", "absurdity")},
            {{"tiktok", 1.15}, {"reels", 1.1}, {"linkedin", 0.8}}};
}

GenreProfile TrueCrimeGenre() {
    return {"true_crime",
            "True crime",
            {"murder",        "murdered",      "killer",    "killed",   "victim",      "victims",       "police",
             "detective",     "detectives",    "suspect",   "suspects", "crime",       "crimes",        "evidence",
             "investigation", "investigators", "case",      "body",     "disappeared", "disappearance", "missing",
             "witness",       "witnesses",     "trial",     "court",    "arrested",    "convicted",     "prison",
             "jury",          "forensic",      "dna",       "homicide", "blood",       "weapon",        "alibi",
             "confessed",     "confession",    "cold case", "sheriff",  "autopsy",     "kidnapped",     "motive",
             "scam",          "scams",         "scammer",   "scammers", "fraud",       "con artist",    "criminal",
             "criminals",     "cops",          "fbi",       "stolen",   "robbery",     "hacker",        "hackers",
             "investigate",   "investigating"},
            {{"mystery",
              "builds mystery",
              {"disappeared", "vanished", "nobody knew", "no one knew", "never found", "mystery", "what happened",
               "strange", "unexplained", "missing", "no trace", "nobody saw", "secret", "the night"}},
             {"resolution",
              "resolves the case",
              {"arrested", "confessed", "convicted", "solved", "the killer was", "matched", "dna", "found guilty",
               "the truth", "finally", "caught", "sentenced", "identified"}}},
            {HookPath(), InsightPath(), OwnPath("true_crime", "mystery", "resolution"), EnergyPath()},
            {{"linkedin", 0.6}, {"tiktok", 1.05}}};
}

GenreProfile EducationGenre() {
    return {"education",
            "Education",
            {"learn",       "learning",  "study",        "students",  "teacher",    "science",    "research",
             "explain",     "theory",    "lesson",       "example",   "history",    "brain",      "understand",
             "concept",     "fact",      "facts",        "school",    "university", "experiment", "data",
             "century",     "centuries", "empire",       "emperor",   "emperors",   "ancient",    "historian",
             "historians",  "dynasty",   "civilization", "scientist", "scientists", "physics",    "biology",
             "chemistry",   "evolution", "species",      "professor", "lecture",    "course",     "explained",
             "researchers", "studies",   "author",       "geography", "developer",  "developers", "programming",
             "software",    "computer",  "engineering",  "math",      "medieval",   "kingdom",    "philosophy",
             "psychology",  "language"},
            {{"curiosity",
              "sparks curiosity",
              {"did you know", "why do", "how does", "what if", "have you ever wondered", "the reason", "it turns out",
               "surprisingly", "most people think"}},
             {"clarity",
              "explains clearly",
              {"in other words", "for example", "which means", "the key is", "simply put", "think of it", "step one",
               "first", "second", "the difference"}}},
            {HookPath(), InsightPath(), OwnPath("education", "curiosity", "clarity"), StructuredPath()},
            {{"linkedin", 1.05}}};
}

GenreProfile HealthWellnessGenre() {
    return {"health_wellness",
            "Health & wellness",
            {"health",   "healthy",    "sleep",        "diet",          "exercise",  "workout",    "stress",
             "anxiety",  "mental",     "body",         "doctor",        "nutrition", "weight",     "habit",
             "habits",   "meditation", "energy",       "wellness",      "therapy",   "protein",    "sugar",
             "heart",    "fitness",    "adhd",         "diagnosis",     "diagnosed", "medication", "medications",
             "symptoms", "therapist",  "psychiatrist", "mental health", "recovery",  "burnout",    "mindset",
             "injuries", "coach",      "coaching",     "athlete",       "athletes"},
            {{"credibility",
              "cites evidence",
              {"studies show", "research shows", "a study", "doctors", "clinical", "evidence", "scientists",
               "data shows", "percent"}},
             {"transformation",
              "shows a transformation",
              {"changed my life", "lost", "gained", "transformed", "before and after", "used to", "now i",
               "for the first time", "i stopped"}}},
            {HookPath(), InsightPath(), OwnPath("health_wellness", "credibility", "transformation"), EnergyPath()},
            {}};
}

GenreProfile NewsPoliticsGenre() {
    return {"news_politics",
            "News & politics",
            {"government", "election",    "president",      "senate",
             "congress",   "vote",        "voters",         "policy",
             "law",        "court",       "minister",       "campaign",
             "party",      "democrats",   "republicans",    "war",
             "economy",    "tax",         "taxes",          "inflation",
             "bill",       "news",        "report",         "politics",
             "political",  "geopolitics", "democracy",      "sanctions",
             "nato",       "military",    "diplomacy",      "polls",
             "poll",       "primary",     "candidate",      "candidates",
             "governor",   "senator",     "administration", "parliament",
             "electoral"},
            {{"urgency",
              "feels urgent",
              {"right now", "breaking", "today", "this week", "just announced", "urgent", "tonight", "immediately",
               "deadline"}},
             {"controversy",
              "takes a controversial stand",
              {"unpopular opinion", "controversial", "wrong", "lie", "lied", "scandal", "outrage",
               "nobody wants to admit", "the truth is"}}},
            {HookPath(), InsightPath(), OwnPath("news_politics", "urgency", "controversy"), EnergyPath()},
            {{"x", 1.1}}};
}

GenreProfile SportsGenre() {
    return {"sports",
            "Sports",
            {"game",        "games",      "team",       "teams",         "season",       "player",       "players",
             "coach",       "score",      "scored",     "win",           "won",          "championship", "league",
             "playoffs",    "goal",       "goals",      "match",         "fans",         "draft",        "trade",
             "quarterback", "basketball", "football",   "soccer",        "baseball",     "injury",       "mvp",
             "finals",      "athlete",    "athletes",   "competition",   "competitions", "compete",      "competing",
             "olympics",    "medal",      "tournament", "championships", "training",     "workout",      "rookie",
             "stadium"},
            {{"hot_take",
              "makes a hot take",
              {"overrated", "underrated", "unpopular opinion", "best ever", "worst", "greatest", "i don't care",
               "mark my words", "no way"}},
             {"game_moment",
              "relives a big moment",
              {"last second", "buzzer", "overtime", "final minute", "game winning", "comeback", "championship",
               "scored", "the crowd"}}},
            {HookPath(), EnergyPath(), OwnPath("sports", "hot_take", "game_moment")},
            {{"x", 1.1}, {"tiktok", 1.05}}};
}

std::vector<GenreProfile> Build() {
    std::vector<GenreProfile> g = {GeneralGenre(),   BusinessGenre(),       ComedyGenre(),       TrueCrimeGenre(),
                                   EducationGenre(), HealthWellnessGenre(), NewsPoliticsGenre(), SportsGenre()};
    for (auto& genre : g) genre.paths.push_back(MomentPath());
    return g;
}

}  // namespace

const std::vector<GenreProfile>& AllGenres() {
    static const std::vector<GenreProfile> kGenres = Build();
    return kGenres;
}

Result<GenreProfile> GenreByName(std::string_view name) { return FindByName(AllGenres(), name, "genre", "auto or "); }

// Work words that every kind of show uses now and then: a business show says them most, but they count half.
const std::vector<std::string>& BusinessWeakKeywords() {
    static const std::vector<std::string> k = {
        "growth",  "product", "products", "hire",   "team",     "scale",  "money",   "raised",   "million",
        "billion", "board",   "deal",     "launch", "launched", "office", "meeting", "meetings", "price",
        "prices",  "dollars", "career",   "hired",  "job",      "jobs",   "industry"};
    return k;
}

GenreDetection DetectGenre(const std::vector<Token>& toks, double reactions_per_k) {
    GenreDetection d;
    d.genre = "general";
    if (toks.empty()) return d;
    double best = 0, second = 0;
    for (const auto& g : AllGenres()) {
        if (g.keywords.empty()) continue;
        double hits = CountPhrases(toks, g.keywords);
        if (g.name == "business") hits += 0.5 * CountPhrases(toks, BusinessWeakKeywords());
        double per_k = 1000.0 * hits / static_cast<double>(toks.size());
        if (g.name == "comedy") per_k += 2.0 * reactions_per_k;
        d.scores[g.name] = per_k;
        if (per_k > best) {
            second = best;
            best = per_k;
            d.genre = g.name;
        } else if (per_k > second) {
            second = per_k;
        }
    }
    // A genre must stand out: at least 6 keywords per 1000 words and a lead over the runner-up.
    if (best < 6.0 || best < 1.15 * second) d.genre = "general";
    return d;
}

}  // namespace podpromo
