// Evaluation metrics shared by training (holdout scores) and live monitoring
// (accuracy on ground truth). Pure functions; inputs must be the same length.
#pragma once

#include <vector>

namespace inferd {

// Area under the ROC curve for labels in {0,1} and scores; ties share rank.
// 0.5 when only one class is present.
double Auc(const std::vector<float>& labels, const std::vector<float>& scores);
// Mean negative log-likelihood of {0,1} labels under probabilities (clipped to 1e-15).
double LogLoss(const std::vector<float>& labels, const std::vector<float>& probabilities);
// Share of rows where (probability >= 0.5) equals the {0,1} label.
double BinaryAccuracy(const std::vector<float>& labels, const std::vector<float>& probabilities);
// Share of rows whose argmax over `classes` probabilities equals the label.
double MultiAccuracy(const std::vector<float>& labels, const std::vector<float>& probabilities,
                     int classes);
// Mean multi-class negative log-likelihood (probabilities row-major, `classes` per row).
double MultiLogLoss(const std::vector<float>& labels, const std::vector<float>& probabilities,
                    int classes);
double Rmse(const std::vector<float>& labels, const std::vector<float>& predictions);
double Mae(const std::vector<float>& labels, const std::vector<float>& predictions);
// Coefficient of determination; 0 when the labels have no variance.
double R2(const std::vector<float>& labels, const std::vector<float>& predictions);

}  // namespace inferd
