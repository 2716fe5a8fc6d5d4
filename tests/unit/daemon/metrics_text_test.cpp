// The Prometheus text format as rendered: HELP/TYPE lines, label escaping, number forms.

#include <gtest/gtest.h>

#include "daemon/metrics_text.hpp"

using namespace tributary::daemon;

TEST(Ops_MetricsText, RendersFamiliesEscapesLabelsAndSkipsEmptyFamilies) {
    metric_family runs{"tributary_job_runs_total", "Runs.\nSince start \\ now.", "counter", {}};
    runs.samples.push_back({{{"job", "a\"b\\c\nd"}}, 3});
    metric_family empty{"tributary_nothing", "none", "gauge", {}};
    metric_family lag{"tributary_queue_lag_seconds", "Lag.", "gauge", {}};
    lag.samples.push_back({{}, 1.5});
    lag.samples.push_back({{{"job", "x"}, {"k", "y"}}, 12345678901.0});
    EXPECT_EQ(render_metrics({runs, empty, lag}),
              "# HELP tributary_job_runs_total Runs.\\nSince start \\\\ now.\n"
              "# TYPE tributary_job_runs_total counter\n"
              "tributary_job_runs_total{job=\"a\\\"b\\\\c\\nd\"} 3\n"
              "# HELP tributary_queue_lag_seconds Lag.\n"
              "# TYPE tributary_queue_lag_seconds gauge\n"
              "tributary_queue_lag_seconds 1.5\n"
              "tributary_queue_lag_seconds{job=\"x\",k=\"y\"} 12345678901\n");
}
