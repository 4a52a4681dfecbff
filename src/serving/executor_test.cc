#include "serving/executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace inferd::serving {
namespace {

TEST(ExecutorTest, RunsJobsOnItsThreads) {
  auto executor = Executor::Create({.threads = 2, .max_queued = 16});
  ASSERT_TRUE(executor.ok());
  std::promise<std::thread::id> ran;
  ASSERT_TRUE((*executor)->Submit([&] { ran.set_value(std::this_thread::get_id()); }).ok());
  EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
}

TEST(ExecutorTest, RefusesPastItsQueueBoundAndRunsWhatItQueuedBeforeStopping) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  {
    auto executor = Executor::Create({.threads = 1, .max_queued = 2});
    ASSERT_TRUE(executor.ok());
    std::promise<void> started;
    ASSERT_TRUE((*executor)->Submit([&] {
      started.set_value();
      released.wait();
      ++done;
    }).ok());
    started.get_future().wait();  // the one thread is busy; the next two queue
    ASSERT_TRUE((*executor)->Submit([&] { ++done; }).ok());
    ASSERT_TRUE((*executor)->Submit([&] { ++done; }).ok());
    EXPECT_EQ((*executor)->queued(), 2u);
    EXPECT_EQ((*executor)->running(), 1u);
    Status refused = (*executor)->Submit([&] { ++done; });
    EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
    EXPECT_NE(refused.message().find("--worker-queue 2"), std::string::npos) << refused.message();
    release.set_value();
  }  // the destructor runs the two queued jobs, then joins
  EXPECT_EQ(done.load(), 3);
}

TEST(ExecutorTest, RejectsANonsenseConfiguration) {
  EXPECT_EQ(Executor::Create({.threads = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Executor::Create({.threads = 1, .max_queued = 0}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace inferd::serving
