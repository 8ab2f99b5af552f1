#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ecgtwin/model/statements.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::model {
namespace {

using Reports = std::vector<std::vector<std::string>>;

class StatementsTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(3); }
  static Reports training_reports() {
    return {{"Sinus rhythm.", "Left axis deviation"}, {"sinus rhythm", "Atrial fibrillation"}, {"Normal ECG"}};
  }
  static LearnedStatementEncoderOptions small() {
    return LearnedStatementEncoderOptions().embedding_dim(8).hash_buckets(64).max_statements(4);
  }
};

TEST_F(StatementsTest, NormalisationIgnoresCaseAndPunctuation) {
  EXPECT_EQ(normalize_statement("Sinus Rhythm."), "sinus rhythm");
  EXPECT_EQ(normalize_statement("sinus rhythm"), normalize_statement("Sinus Rhythm."));
  EXPECT_EQ(normalize_statement("  Left  axis-deviation!! "), "left axis deviation");
  EXPECT_EQ(normalize_statement("1st degree AV block"), "1st degree av block");
  EXPECT_EQ(normalize_statement("..."), "");
  EXPECT_EQ(statement_words("left axis deviation"), (std::vector<std::string>{"left", "axis", "deviation"}));
}

TEST_F(StatementsTest, FnvMatchesTheReferenceVectors) {
  // Test vectors of the FNV reference implementation (fnv-5.0.2, test_fnv.c, FNV1a_64).
  EXPECT_EQ(fnv1a_64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a_64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a_64("foobar"), 0x85944171f73967e8ULL);
}

TEST_F(StatementsTest, VocabularyIsDeduplicatedAfterNormalisation) {
  const auto vocabulary = StatementVocabulary::build(training_reports());
  EXPECT_EQ(vocabulary.statements, (std::vector<std::string>{"sinus rhythm", "left axis deviation",
                                                             "atrial fibrillation", "normal ecg"}));
  EXPECT_EQ(vocabulary.words, (std::vector<std::string>{"atrial", "axis", "deviation", "ecg", "fibrillation",
                                                        "left", "normal", "rhythm", "sinus"}));
  const auto back = StatementVocabulary::from_json(vocabulary.to_json(), "test");
  EXPECT_EQ(back.statements, vocabulary.statements);
  EXPECT_EQ(back.words, vocabulary.words);
  EXPECT_THROW(StatementVocabulary::from_json(nlohmann::json{{"statements", {1, 2}}}, "test"), InputError);
}

TEST_F(StatementsTest, BatchesArePaddedAndMasked) {
  LearnedStatementEncoder encoder(small(), StatementVocabulary::build(training_reports()));
  torch::NoGradGuard no_grad;
  const auto batch = encoder->forward({{"Sinus Rhythm.", "left axis deviation"}, {"sinus rhythm"}, {}});
  EXPECT_EQ(batch.embeddings.sizes(), (std::vector<int64_t>{3, 2, 8}));
  EXPECT_EQ(batch.embeddings.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(batch.mask, torch::tensor({true, true, true, false, false, false}).view({3, 2})));
  EXPECT_TRUE(torch::equal(batch.embeddings[0][0], batch.embeddings[1][0]));
  EXPECT_FALSE(torch::equal(batch.embeddings[0][0], batch.embeddings[0][1]));
  EXPECT_TRUE(batch.embeddings[1][1].eq(0).all().item<bool>());
  EXPECT_TRUE(batch.embeddings[2].eq(0).all().item<bool>());
  // Longer reports keep their first max_statements statements.
  const auto truncated = encoder->forward({{"normal ecg", "sinus rhythm", "normal ecg", "sinus rhythm", "normal ecg"}});
  EXPECT_EQ(truncated.embeddings.size(1), 4);
  EXPECT_TRUE(truncated.mask.all().item<bool>());
  // Only empty reports: one fully masked slot.
  const auto empty = encoder->forward({{}, {}});
  EXPECT_EQ(empty.embeddings.sizes(), (std::vector<int64_t>{2, 1, 8}));
  EXPECT_FALSE(empty.mask.any().item<bool>());
}

TEST_F(StatementsTest, KnownStatementIsItsRowPlusItsWordMean) {
  LearnedStatementEncoder encoder(small(), StatementVocabulary::build(training_reports()));
  torch::NoGradGuard no_grad;
  auto params = encoder->named_parameters();
  const torch::Tensor words = params["word_embedding.weight"];
  const torch::Tensor rows = params["statement_embedding.weight"];
  const torch::Tensor expected =
      rows[1] + (words[encoder->word_bucket("left")] + words[encoder->word_bucket("axis")] +
                 words[encoder->word_bucket("deviation")]) / 3.0;
  const torch::Tensor got = encoder->embed_normalized({"left axis deviation"})[0];
  EXPECT_TRUE(torch::allclose(got, expected, 1e-6, 1e-6));
}

TEST_F(StatementsTest, UnknownStatementIsTheMeanOfItsKnownWords) {
  LearnedStatementEncoder encoder(small(), StatementVocabulary::build(training_reports()));
  torch::NoGradGuard no_grad;
  const torch::Tensor words = encoder->named_parameters()["word_embedding.weight"];
  // "tachycardia" was never seen and is left out of the mean.
  const auto batch = encoder->forward({{"Sinus tachycardia, normal axis"}});
  const torch::Tensor expected = (words[encoder->word_bucket("sinus")] + words[encoder->word_bucket("normal")] +
                                  words[encoder->word_bucket("axis")]) / 3.0;
  EXPECT_TRUE(torch::allclose(batch.embeddings[0][0], expected, 1e-6, 1e-6));
  EXPECT_TRUE(test::throws_input_error(
      [&] {
        encoder->forward({{"sinus rhythm"}, {"Wolff Parkinson White"}});
      },
      {"wolff parkinson white"}));
}

TEST_F(StatementsTest, GradientsReachTheUsedRowsOfBothTables) {
  LearnedStatementEncoder encoder(small(), StatementVocabulary::build(training_reports()));
  encoder->forward({{"atrial fibrillation"}, {"normal sinus"}}).embeddings.pow(2).sum().backward();
  auto params = encoder->named_parameters();
  const torch::Tensor row_grad = params["statement_embedding.weight"].grad();
  EXPECT_GT(row_grad[2].abs().sum().item<double>(), 0.0);  // atrial fibrillation
  EXPECT_EQ(row_grad[0].abs().sum().item<double>(), 0.0);  // sinus rhythm: not used
  const torch::Tensor word_grad = params["word_embedding.weight"].grad();
  for (const char* word : {"atrial", "fibrillation", "normal", "sinus"})
    EXPECT_GT(word_grad[encoder->word_bucket(word)].abs().sum().item<double>(), 0.0) << word;
}

TEST_F(StatementsTest, LearnedEncoderSaveLoadRoundTripIsExact) {
  test::TempDir dir;
  LearnedStatementEncoder encoder(small(), StatementVocabulary::build(training_reports()));
  const Reports reports = {{"Atrial fibrillation", "left axis deviation"}, {"normal sinus axis"}};
  torch::NoGradGuard no_grad;
  const auto before = encoder->forward(reports);
  torch::save(encoder, (dir / "statements.pt").string());

  // A module with another vocabulary and sizes takes the archive's.
  LearnedStatementEncoder restored(LearnedStatementEncoderOptions().embedding_dim(8).hash_buckets(16),
                                   StatementVocabulary::build({{"other"}}));
  torch::load(restored, (dir / "statements.pt").string());
  const auto after = restored->forward(reports);
  EXPECT_TRUE(torch::equal(before.embeddings, after.embeddings));
  EXPECT_TRUE(torch::equal(before.mask, after.mask));
  EXPECT_EQ(restored->vocabulary().statements, encoder->vocabulary().statements);
  EXPECT_EQ(restored->vocabulary_json(), encoder->vocabulary_json());
}

TEST_F(StatementsTest, InputsAreHostIndicesThatEmbedTurnsIntoTheSameBatchAsForward) {
  LearnedStatementEncoder encoder(small(), StatementVocabulary::build(training_reports()));
  const std::vector<std::vector<std::string>> reports = {
      {"Sinus Rhythm.", "left axis deviation"}, {"sinus rhythm"}, {}};
  const StatementInputs inputs = encoder->inputs(reports);
  EXPECT_TRUE(inputs.mask.device().is_cpu());
  EXPECT_TRUE(torch::equal(inputs.mask,
                           torch::tensor({true, true, true, false, false, false}).view({3, 2})));
  EXPECT_TRUE(torch::equal(inputs.slots, torch::tensor({0, 1, 2}, torch::kInt64)));
  // Statement rows by the vocabulary's first-seen order; every statement here is known.
  const auto& statements = encoder->vocabulary().statements;
  const auto row = [&](const std::string& s) {
    return static_cast<int64_t>(std::find(statements.begin(), statements.end(), s) -
                                statements.begin());
  };
  EXPECT_TRUE(torch::equal(
      inputs.lookup.at("known_ids"),
      torch::tensor({row("sinus rhythm"), row("left axis deviation"), row("sinus rhythm")})));
  EXPECT_TRUE(
      torch::equal(inputs.lookup.at("known_rows"), torch::tensor({0, 1, 2}, torch::kInt64)));
  for (const auto& [name, tensor] : inputs.lookup) EXPECT_TRUE(tensor.device().is_cpu()) << name;

  torch::NoGradGuard no_grad;
  const auto direct = encoder->forward(reports);
  const auto embedded = encoder->embed(inputs);
  EXPECT_TRUE(torch::equal(direct.embeddings, embedded.embeddings));
  EXPECT_TRUE(torch::equal(direct.mask, embedded.mask));
  // The indices do not depend on the weights: embedding them after a change of weights gives
  // the new weights' batch.
  for (auto& p : encoder->parameters()) p.mul_(2.0);
  EXPECT_TRUE(
      torch::allclose(encoder->embed(inputs).embeddings, direct.embeddings * 2.0, 1e-6, 1e-6));
  EXPECT_THROW(encoder->inputs({{"Wolff Parkinson White"}}), InputError);
}

TEST_F(StatementsTest, PrecomputedEncoderLooksUpNormalisedRows) {
  const torch::Tensor matrix = torch::arange(12, torch::kFloat32).view({3, 4});
  PrecomputedStatementEncoder encoder(std::vector<std::string>{"Sinus rhythm", "Atrial fibrillation.", "PVC"},
                                      matrix);
  EXPECT_EQ(encoder->embedding_dim(), 4);
  const auto batch = encoder->forward({{"pvc", "SINUS RHYTHM"}, {"atrial fibrillation"}});
  EXPECT_TRUE(torch::equal(batch.embeddings[0][0], matrix[2]));
  EXPECT_TRUE(torch::equal(batch.embeddings[0][1], matrix[0]));
  EXPECT_TRUE(torch::equal(batch.embeddings[1][0], matrix[1]));
  EXPECT_TRUE(batch.embeddings[1][1].eq(0).all().item<bool>());
  EXPECT_THROW(encoder->forward({{"sinus bradycardia"}}), InputError);
  EXPECT_THROW(PrecomputedStatementEncoder(std::vector<std::string>{"a", "b"}, matrix), InputError);
  EXPECT_TRUE(encoder->parameters().empty());

  test::TempDir dir;
  torch::save(encoder, (dir / "precomputed.pt").string());
  PrecomputedStatementEncoder restored(std::vector<std::string>{"x"}, torch::zeros({1, 2}));
  torch::load(restored, (dir / "precomputed.pt").string());
  const auto again = restored->forward({{"pvc", "SINUS RHYTHM"}, {"atrial fibrillation"}});
  EXPECT_TRUE(torch::equal(again.embeddings, batch.embeddings));
}

}  // namespace
}  // namespace ecgtwin::model
