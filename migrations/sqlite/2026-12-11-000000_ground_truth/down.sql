DROP TABLE ground_truth;
