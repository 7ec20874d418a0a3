// qemu-demo/common/messaging.cpp: tasks exchanging messages, fed by a timer interrupt.
//
// The timer interrupt is a four-channel sensor: on every tick it takes four SensorReadings from
// an ObjectPool and queues them, and it also mallocs and frees a scratch buffer of varying size
// (as a driver would for a DMA transfer), all through the port's interrupt-masking lock. Four
// cooperative tasks run in the main loop and pass messages of the protocol below through queues:
//
//   sensor ISR --SensorReading--> filter --TelemetryBatch (heap, vector)--> uplink
//                                   |----ActuatorCommand (pool)----------> actuator
//                                   '----LogLine (heap, string)----------> logger
//
// Small fixed-size messages come from ObjectPools, variable ones from the heap (operator new),
// their payloads from C++ containers on keel (keel::Allocator<T>, or std::allocator and so
// operator new). At the end every message sent was received, every pool and queue is empty.
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "demo.hpp"
#include "keel/adapters/allocator.hpp"
#include "keel/pool.hpp"

namespace demo {
namespace {

// --- the protocol ------------------------------------------------------------------------------

enum class MessageKind : std::uint8_t { sensor_reading, actuator_command, log_line, telemetry };
constexpr unsigned kKinds = 4;

const char* name_of(MessageKind kind) {
  switch (kind) {
    case MessageKind::sensor_reading: return "SensorReading";
    case MessageKind::actuator_command: return "ActuatorCommand";
    case MessageKind::log_line: return "LogLine";
    case MessageKind::telemetry: return "TelemetryBatch";
  }
  return "?";
}

struct Message {
  explicit Message(MessageKind message_kind) : kind(message_kind) {}
  MessageKind kind;
  std::uint32_t sequence = 0;
  Message* next = nullptr;  // the queue's link: queues never allocate
};

struct SensorReading : Message {
  SensorReading() : Message(MessageKind::sensor_reading) {}
  std::uint32_t channel = 0;
  std::int32_t millivolts = 0;
  std::uint64_t timestamp = 0;
};

struct ActuatorCommand : Message {
  ActuatorCommand() : Message(MessageKind::actuator_command) {}
  std::uint16_t channel = 0;
  std::int16_t setpoint = 0;
};

/// A string on the global heap through keel::Allocator<char>.
using KeelString = std::basic_string<char, std::char_traits<char>, keel::Allocator<char>>;

struct LogLine : Message {
  LogLine() : Message(MessageKind::log_line) {}
  KeelString text;
};

struct TelemetryBatch : Message {
  TelemetryBatch() : Message(MessageKind::telemetry) {}
  std::vector<std::int32_t, keel::Allocator<std::int32_t>> samples;
  std::uint32_t checksum = 0;
};

std::uint32_t checksum_of(const TelemetryBatch& batch) {
  std::uint32_t sum = 0x811C9DC5U;
  for (const std::int32_t sample : batch.samples) {
    sum = (sum ^ static_cast<std::uint32_t>(sample)) * 0x01000193U;
  }
  return sum;
}

// --- queues and pools shared with the interrupt ---------------------------------------------

/// An intrusive FIFO of messages, safe between the interrupt and the tasks.
class Queue {
 public:
  void push(Message* message) {
    lock_.lock();
    message->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = message;
    } else {
      head_ = message;
    }
    tail_ = message;
    ++length_;
    peak_ = length_ > peak_ ? length_ : peak_;
    lock_.unlock();
  }
  Message* pop() {
    lock_.lock();
    Message* message = head_;
    if (message != nullptr) {
      head_ = message->next;
      tail_ = head_ == nullptr ? nullptr : tail_;
      --length_;
    }
    lock_.unlock();
    return message;
  }
  [[nodiscard]] std::size_t peak() const { return peak_; }
  [[nodiscard]] bool empty() const { return head_ == nullptr; }

 private:
  keel::port::IrqLock lock_;
  Message* head_ = nullptr;
  Message* tail_ = nullptr;
  std::size_t length_ = 0;
  std::size_t peak_ = 0;
};

/// An ObjectPool behind the interrupt-masking lock (a pool is not synchronised by itself).
template <typename T, std::size_t kCount>
class SharedPool {
 public:
  T* create() {
    lock_.lock();
    T* object = pool_.create();
    lock_.unlock();
    return object;
  }
  void destroy(T* object) {
    lock_.lock();
    pool_.destroy(object);
    lock_.unlock();
  }
  [[nodiscard]] keel::PoolStatistics statistics() {
    lock_.lock();
    const keel::PoolStatistics result = pool_.statistics();
    lock_.unlock();
    return result;
  }
  [[nodiscard]] bool healthy() {
    lock_.lock();
    const bool ok = pool_.validate() == keel::PoolViolation::none;
    lock_.unlock();
    return ok;
  }

 private:
  keel::ObjectPool<T, kCount> pool_;
  keel::port::IrqLock lock_;
};

constinit SharedPool<SensorReading, 24> g_reading_pool;
constinit SharedPool<ActuatorCommand, 8> g_command_pool;
Queue g_sensor_queue;
Queue g_command_queue;
Queue g_log_queue;
Queue g_telemetry_queue;

struct Counts {
  std::uint32_t sent[kKinds] = {};
  std::uint32_t received[kKinds] = {};
};
Counts g_counts;  // sensor readings are counted as sent by the interrupt, the rest by tasks

void count_sent(MessageKind kind) {
  ++g_counts.sent[static_cast<unsigned>(kind)];
}
void count_received(MessageKind kind) {
  ++g_counts.received[static_cast<unsigned>(kind)];
}

// --- the interrupt ------------------------------------------------------------------------------

constexpr std::uint32_t kChannels = 4;
constexpr unsigned kScratchSlots = 4;
struct Scratch {
  std::uint8_t* bytes = nullptr;
  std::size_t size = 0;
  std::uint8_t seed = 0;
};
Scratch g_scratch[kScratchSlots];
volatile std::uint32_t g_ticks = 0;
volatile std::uint32_t g_dropped_readings = 0;
volatile std::uint32_t g_scratch_allocations = 0;
volatile std::uint32_t g_scratch_corruptions = 0;
volatile std::uint32_t g_scratch_failures = 0;

// A scratch buffer is marked at its first, middle and last byte: enough to see it overwritten
// or handed out twice, cheap enough for an interrupt.
void fill_scratch(const Scratch& scratch) {
  scratch.bytes[0] = scratch.seed;
  scratch.bytes[scratch.size / 2] = static_cast<std::uint8_t>(scratch.seed ^ 0x5A);
  scratch.bytes[scratch.size - 1] = static_cast<std::uint8_t>(~scratch.seed);
}
bool scratch_intact(const Scratch& scratch) {
  return scratch.bytes[0] == scratch.seed &&
         scratch.bytes[scratch.size / 2] == static_cast<std::uint8_t>(scratch.seed ^ 0x5A) &&
         scratch.bytes[scratch.size - 1] == static_cast<std::uint8_t>(~scratch.seed);
}

void sensor_interrupt() noexcept {
  const std::uint32_t tick = g_ticks + 1;
  g_ticks = tick;
  // A four-channel converter: one reading per channel and tick.
  for (std::uint32_t channel = 0; channel < kChannels; ++channel) {
    SensorReading* reading = g_reading_pool.create();
    if (reading == nullptr) {
      g_dropped_readings = g_dropped_readings + 1;
      continue;
    }
    reading->sequence = tick * kChannels + channel;
    reading->channel = channel;
    reading->millivolts =
        static_cast<std::int32_t>(1650 + ((tick + channel * 11) * 37) % 400) - 200;
    reading->timestamp = keel::port::counter();
    ++g_counts.sent[static_cast<unsigned>(MessageKind::sensor_reading)];
    g_sensor_queue.push(reading);
  }
  // A scratch buffer per tick, freed kScratchSlots ticks later: malloc and free in the
  // interrupt, through the global heap's lock.
  Scratch& scratch = g_scratch[tick % kScratchSlots];
  if (scratch.bytes != nullptr) {
    g_scratch_corruptions = g_scratch_corruptions + (scratch_intact(scratch) ? 0U : 1U);
    std::free(scratch.bytes);
    scratch = Scratch{};
  }
  const std::size_t size = 16 + (tick * 97) % (512 / platform().scale_down);
  auto* bytes = static_cast<std::uint8_t*>(std::malloc(size));
  if (bytes == nullptr) {
    g_scratch_failures = g_scratch_failures + 1;
    return;
  }
  scratch = Scratch{bytes, size, static_cast<std::uint8_t>(tick)};
  fill_scratch(scratch);
  g_scratch_allocations = g_scratch_allocations + 1;
}

// --- the tasks ---------------------------------------------------------------------------------

struct FilterState {
  TelemetryBatch* batch = nullptr;
  std::uint32_t readings = 0;
  std::uint32_t sequence = 0;
};

/// Takes sensor readings, batches them for the uplink, commands the actuator, logs.
bool filter_task(FilterState& state) {
  Message* message = g_sensor_queue.pop();
  if (message == nullptr) {
    return false;
  }
  auto* reading = static_cast<SensorReading*>(message);
  count_received(reading->kind);
  ++state.readings;
  if (state.batch == nullptr) {
    state.batch = new TelemetryBatch;
    state.batch->sequence = ++state.sequence;
  }
  state.batch->samples.push_back(reading->millivolts);
  if (state.batch->samples.size() == 8 + state.sequence % 9) {
    state.batch->checksum = checksum_of(*state.batch);
    count_sent(MessageKind::telemetry);
    g_telemetry_queue.push(state.batch);
    state.batch = nullptr;
  }
  if (state.readings % 5 == 0) {
    if (ActuatorCommand* command = g_command_pool.create()) {
      command->channel = static_cast<std::uint16_t>(reading->channel);
      command->setpoint = static_cast<std::int16_t>(reading->millivolts / 10);
      count_sent(command->kind);
      g_command_queue.push(command);
    }
  }
  if (state.readings % 15 == 0) {
    auto* line = new LogLine;
    line->text = "reading ";
    line->text += std::to_string(reading->sequence).c_str();
    line->text += " on channel ";
    line->text += static_cast<char>('0' + reading->channel);
    line->text += ": ";
    line->text += std::to_string(reading->millivolts).c_str();
    line->text += " mV";
    count_sent(line->kind);
    g_log_queue.push(line);
  }
  g_reading_pool.destroy(reading);
  return true;
}

std::int32_t g_actuator_position[4] = {};

bool actuator_task() {
  Message* message = g_command_queue.pop();
  if (message == nullptr) {
    return false;
  }
  auto* command = static_cast<ActuatorCommand*>(message);
  count_received(command->kind);
  g_actuator_position[command->channel % 4] += command->setpoint;
  g_command_pool.destroy(command);
  return true;
}

/// Keeps the last few lines in a vector of std::string (std::allocator: operator new, keel).
bool logger_task(std::vector<std::string>& history) {
  Message* message = g_log_queue.pop();
  if (message == nullptr) {
    return false;
  }
  auto* line = static_cast<LogLine*>(message);
  count_received(line->kind);
  if (history.size() == 6) {
    history.erase(history.begin());
  }
  history.emplace_back(line->text.c_str());
  delete line;
  return true;
}

std::uint32_t g_bad_checksums = 0;

bool uplink_task() {
  Message* message = g_telemetry_queue.pop();
  if (message == nullptr) {
    return false;
  }
  auto* batch = static_cast<TelemetryBatch*>(message);
  count_received(batch->kind);
  g_bad_checksums += checksum_of(*batch) == batch->checksum ? 0U : 1U;
  delete batch;
  return true;
}

}  // namespace

constexpr std::uint32_t kTickPeriod = 8000;

void run_messaging() {
  const Platform& machine = platform();
  const std::uint32_t readings_wanted = 3000 / machine.scale_down;
  print("\n== 1. Messages: a sensor interrupt and four tasks, through queues\n");
  print("   timer interrupt (4 readings) every %lu %s; %lu readings to process\n",
        static_cast<unsigned long>(kTickPeriod), keel::port::counter_unit(),
        static_cast<unsigned long>(readings_wanted));
  const keel::Statistics before = global_heap().statistics();

  FilterState filter;
  std::vector<std::string> history;
  machine.set_tick(sensor_interrupt, kTickPeriod);
  while (g_counts.received[0] < readings_wanted) {
    filter_task(filter);
    actuator_task();
    logger_task(history);
    uplink_task();
  }
  machine.set_tick(nullptr, 0);

  // Drain: what the interrupt queued last, and the batch being filled.
  while (filter_task(filter) || actuator_task() || logger_task(history) || uplink_task()) {
  }
  if (filter.batch != nullptr) {
    delete filter.batch;
  }
  for (Scratch& scratch : g_scratch) {
    std::free(scratch.bytes);
    scratch = Scratch{};
  }

  print("   %-16s %8s %8s\n", "message", "sent", "received");
  bool all_delivered = true;
  for (unsigned kind = 0; kind < kKinds; ++kind) {
    print("   %-16s %8lu %8lu\n", name_of(static_cast<MessageKind>(kind)),
          static_cast<unsigned long>(g_counts.sent[kind]),
          static_cast<unsigned long>(g_counts.received[kind]));
    all_delivered =
        all_delivered && g_counts.sent[kind] == g_counts.received[kind] && g_counts.sent[kind] != 0;
  }
  const keel::PoolStatistics readings = g_reading_pool.statistics();
  const keel::PoolStatistics commands = g_command_pool.statistics();
  print("   pools: readings peak %u/%u, commands peak %u/%u; queue peaks %u %u %u %u\n",
        static_cast<unsigned>(readings.peak_in_use), static_cast<unsigned>(readings.capacity),
        static_cast<unsigned>(commands.peak_in_use), static_cast<unsigned>(commands.capacity),
        static_cast<unsigned>(g_sensor_queue.peak()), static_cast<unsigned>(g_command_queue.peak()),
        static_cast<unsigned>(g_log_queue.peak()), static_cast<unsigned>(g_telemetry_queue.peak()));
  print(
      "   interrupt: %lu ticks, %lu scratch buffers malloc'd and freed in it, %lu readings "
      "dropped (pool empty)\n",
      static_cast<unsigned long>(g_ticks), static_cast<unsigned long>(g_scratch_allocations),
      static_cast<unsigned long>(g_dropped_readings));
  print("   last log lines (std::vector<std::string> on keel):\n");
  for (const std::string& line : history) {
    print("     %s\n", line.c_str());
  }
  const keel::Statistics after = global_heap().statistics();
  print("   heap: %lu allocations in this phase, peak %lu B in use\n",
        static_cast<unsigned long>(after.total_allocations - before.total_allocations),
        static_cast<unsigned long>(after.peak_bytes_in_use));
  expect(all_delivered, "every message sent was received");
  expect(g_bad_checksums == 0, "every telemetry batch arrived intact");
  expect(g_scratch_corruptions == 0, "the interrupt's scratch buffers stayed intact");
  expect(g_scratch_allocations > readings_wanted / (2 * kChannels), "the interrupt allocated");
  expect(readings.in_use == 0 && commands.in_use == 0, "the pools are empty again");
  expect(g_reading_pool.healthy() && g_command_pool.healthy(), "the pools validate");
  expect(g_sensor_queue.empty() && g_command_queue.empty() && g_log_queue.empty() &&
             g_telemetry_queue.empty(),
         "the queues are empty");
  std::vector<std::string>().swap(history);  // (shrink_to_fit does nothing without exceptions)
  const keel::Statistics end = global_heap().statistics();
  if (!expect(end.live_allocations == before.live_allocations,
              "the phase gave back every block it took")) {
    print("   live blocks: %lu before, %lu after\n",
          static_cast<unsigned long>(before.live_allocations),
          static_cast<unsigned long>(end.live_allocations));
  }
}

}  // namespace demo
