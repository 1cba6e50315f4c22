#include "job/lifecycle.h"

#include <utility>

namespace runbot {

void finish(Job& job, JobEnd end) {
  job.state = JobState::done;
  job.note = std::move(end.note);
  if (end.result) {
    job.result = end.result;
    job.finished_at = end.at;
  }
  if (!end.details.empty()) job.details = std::move(end.details);
}

void start_building(Job& job, Time now, int port) {
  job.state = JobState::building;
  job.started_at = now;
  job.port = port;
}

void requeue(Job& job, std::string note) {
  job.state = JobState::pending;
  job.started_at = 0;
  job.port = 0;
  job.note = std::move(note);
  job.executor_id.clear();  // a new start gets a new one
  job.host.clear();
}

namespace {

void take_result(Job& job, const ResultMarker& result, Time now, std::string details) {
  job.result = result.result;
  job.note = result.note;
  job.finished_at = result.finished_at ? result.finished_at : now;
  job.details = std::move(details);
}

}  // namespace

void start_running(Job& job, const ResultMarker& result, Time instance_started_at, Time now,
                   std::string details) {
  take_result(job, result, now, std::move(details));
  job.state = JobState::running;
  job.instance_started_at = instance_started_at;
}

void finish_build(Job& job, const ResultMarker& result, Time now, std::string details) {
  finish(job, JobEnd{result.result, result.note, result.finished_at ? result.finished_at : now,
                     std::move(details)});
}

}  // namespace runbot
