// The diagnosis classifier: its classes and labels from reports, and that the network with
// its training step separates classes a simple rule defines.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/model/classifier.hpp"
#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::train {
namespace {

TEST(DiagnosisClasses, FrequentStatementsFirstAndMultiHotLabels) {
  const std::vector<std::vector<std::string>> reports = {
      {"sinus rhythm", "left bundle branch block"}, {"sinus rhythm"}, {"atrial fibrillation"},
      {"sinus rhythm", "atrial fibrillation"}, {"atrial fibrillation", "atrial fibrillation"}};
  // A statement twice in one report counts once.
  auto classes = diagnosis_classes(reports, 2);
  EXPECT_EQ(classes, (std::vector<std::string>{"atrial fibrillation", "sinus rhythm"}));
  auto labels = diagnosis_labels({{"sinus rhythm", "left bundle branch block"}, {}, {"atrial fibrillation"}}, classes);
  ASSERT_EQ(labels.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_TRUE(labels.equal(torch::tensor({0, 1, 0, 0, 1, 0}, torch::kFloat).view({3, 2})));
  EXPECT_TRUE(diagnosis_classes(reports, 4).empty());
}

TEST(Classifier, OptionsAreCheckedAndLogitsHaveOneColumnPerClass) {
  EXPECT_THROW(model::Classifier(model::ClassifierOptions().classes(0)), InputError);
  EXPECT_THROW(model::Classifier(model::ClassifierOptions().kernel(4)), InputError);
  model::Classifier net(model::ClassifierOptions().channels({8, 16}).se_reduction(4).blocks_per_stage(1).classes(3));
  EXPECT_EQ(net->forward(torch::randn({2, 12, 256})).sizes(), (std::vector<int64_t>{2, 3}));
}

TEST(Classifier, LearnsClassesARuleDefines) {
  // Class 0: a 5 Hz sine on lead I; class 1: a positive offset on lead V1 (index 6). Both,
  // one or neither, plus noise.
  torch::manual_seed(0);
  const int64_t n = 64, length = 256;
  auto labels = torch::randint(0, 2, {n, 2}).to(torch::kFloat);
  auto time = torch::arange(length, torch::kFloat) / 100.0;
  auto x = torch::randn({n, 12, length}) * 0.1;
  x.select(1, 0).add_(labels.select(1, 0).unsqueeze(1) * torch::sin(2 * M_PI * 5 * time).unsqueeze(0));
  x.select(1, 6).add_(labels.select(1, 1).unsqueeze(1) * 1.0);
  model::Classifier net(model::ClassifierOptions().channels({8, 16}).se_reduction(4).blocks_per_stage(1).classes(2));
  torch::optim::AdamW optimiser(net->parameters(), torch::optim::AdamWOptions(3e-3));
  for (int step = 0; step < 150; ++step) {
    optimiser.zero_grad();
    torch::binary_cross_entropy_with_logits(net->forward(x), labels).backward();
    optimiser.step();
  }
  net->eval();
  torch::NoGradGuard no_grad;
  auto predicted = net->forward(x).sigmoid().gt(0.5).to(torch::kFloat);
  EXPECT_GE(predicted.eq(labels).to(torch::kFloat).mean().item<double>(), 0.95);
}

}  // namespace
}  // namespace ecgtwin::train
