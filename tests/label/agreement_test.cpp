// Borda consolidation, Kendall's W (with the tie correction) and pairwise agreement, checked
// against values derived by hand from the formulas in tenet/label/agreement.h.
#include "tenet/label/agreement.h"

#include <gtest/gtest.h>

namespace tenet::label {
namespace {

TEST(AgreementTest, AverageRanksSpreadTies) {
  EXPECT_EQ(AverageRanks({1, 1, 3}), (std::vector<double>{1.5, 1.5, 3}));
  EXPECT_EQ(AverageRanks({2, 1, 2, 4}), (std::vector<double>{2.5, 1, 2.5, 4}));
  EXPECT_EQ(AverageRanks({1, 1, 1}), (std::vector<double>{2, 2, 2}));
}

TEST(AgreementTest, KendallWOfFullAgreementIsOneAndOfReversalIsZero) {
  EXPECT_DOUBLE_EQ(*KendallW({{1, 2, 3}, {1, 2, 3}, {1, 2, 3}}), 1.0);
  EXPECT_DOUBLE_EQ(*KendallW({{1, 2, 3}, {3, 2, 1}}), 0.0);
}

TEST(AgreementTest, KendallWMatchesHandComputation) {
  // m=3, n=4: R = (4, 6, 8, 12), mean 7.5, S = 35, W = 12*35 / (9*(64-4)) = 7/9.
  EXPECT_NEAR(*KendallW({{1, 2, 3, 4}, {2, 1, 3, 4}, {1, 3, 2, 4}}), 7.0 / 9.0, 1e-12);
}

TEST(AgreementTest, KendallWAppliesTheTieCorrection) {
  // m=2, n=3, r1 = (1,1,3) -> (1.5,1.5,3), r2 = (1,2,3): R = (2.5,3.5,6), mean 4, S = 6.5,
  // T = 2^3-2 = 6, W = 12*6.5 / (4*24 - 2*6) = 78/84. Without the correction it would be 78/96.
  EXPECT_NEAR(*KendallW({{1, 1, 3}, {1, 2, 3}}), 78.0 / 84.0, 1e-12);
}

TEST(AgreementTest, KendallWIsUndefinedForOneRaterOrAllTies) {
  EXPECT_FALSE(KendallW({{1, 2, 3}}).has_value());
  EXPECT_FALSE(KendallW({{1, 1, 1}, {1, 1, 1}}).has_value());
  EXPECT_FALSE(KendallW({}).has_value());
}

TEST(AgreementTest, BordaConsolidatesAndSharesRanksOnEqualPoints) {
  // Points n - rank: (2,1,0) + (1,2,0) + (2,1,0) = (5,4,0).
  Consolidated c = BordaConsolidate({{1, 2, 3}, {2, 1, 3}, {1, 2, 3}});
  EXPECT_EQ(c.points, (std::vector<double>{5, 4, 0}));
  EXPECT_EQ(c.ranks, (Ranking{1, 2, 3}));
  EXPECT_EQ(BordaConsolidate({{1, 2}, {2, 1}}).ranks, (Ranking{1, 1}));
  // A tie inside one ranking counts as the average rank: (1,1,3) gives (1.5, 1.5, 0).
  Consolidated t = BordaConsolidate({{1, 1, 3}, {1, 2, 3}});
  EXPECT_EQ(t.points, (std::vector<double>{3.5, 2.5, 0}));
  EXPECT_EQ(t.ranks, (Ranking{1, 2, 3}));
}

TEST(AgreementTest, PairwiseAgreementCountsSameOrderings) {
  EXPECT_NEAR(*PairAgreement({1, 2, 3}, {2, 1, 3}), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(*PairAgreement({1, 1, 3}, {1, 2, 3}), 2.0 / 3.0, 1e-12);  // a tie vs an order disagrees
  EXPECT_DOUBLE_EQ(*PairAgreement({1, 1, 3}, {1, 1, 3}), 1.0);
  // Three annotators: pairs (a,b) 2/3, (a,c) 1, (b,c) 2/3.
  EXPECT_NEAR(*PairwiseAgreement({{1, 2, 3}, {2, 1, 3}, {1, 2, 3}}), (2.0 / 3 + 1 + 2.0 / 3) / 3, 1e-12);
  EXPECT_FALSE(PairwiseAgreement({{1, 2, 3}}).has_value());
}

}  // namespace
}  // namespace tenet::label
