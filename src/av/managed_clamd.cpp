#include "av/managed_clamd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#ifndef MM_SIGNATURE_DIR
#define MM_SIGNATURE_DIR "signatures"
#endif

namespace mm::av {
namespace fs = std::filesystem;

std::string default_database_dir() { return MM_SIGNATURE_DIR; }

namespace {

using Clock = std::chrono::steady_clock;

// Names, sizes and modification times of the signature files: a change means "reload".
std::string fingerprint(const std::string& dir) {
  std::vector<std::string> items;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    struct stat st {};
    if (::stat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    items.push_back(e.path().filename().string() + ":" + std::to_string(st.st_size) + ":" +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (auto& i : items) out += i + "\n";
  return out;
}

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

}  // namespace

struct ManagedClamd::State {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
  pid_t child = 0;
  int lock_fd = -1;
  bool owner = false;
  int starts = 0, reloads = 0, exits = 0;
  Clock::time_point next_start{}, started{}, last_check{};
  std::chrono::seconds backoff{1};
  std::string loaded;  // fingerprint clamd last loaded
};

ManagedClamd::ManagedClamd(ManagedOptions o) : opt_(std::move(o)), st_(std::make_unique<State>()) {
  std::string var = absolute(opt_.var_dir);
  opt_.database_dir = absolute(opt_.database_dir.empty() ? default_database_dir() : opt_.database_dir);
  conf_path_ = var + "/clamd.conf";
  socket_path_ = var + "/run/clamd.sock";
  lock_path_ = var + "/run/clamd.lock";
  pid_path_ = var + "/run/clamd.pid";
  log_path_ = var + "/log/clamd.log";
  if (!opt_.temp_dir.empty()) {
    temp_dir_ = absolute(opt_.temp_dir);
  } else if (fs::is_directory("/dev/shm")) {
    char id[32];
    std::snprintf(id, sizeof id, "%016zx", std::hash<std::string>{}(var));
    temp_dir_ = std::string("/dev/shm/mailmoat-clamd-") + id;
  } else {
    temp_dir_ = var + "/tmp/clamd";
  }
  std::error_code ec;
  for (auto& d : {var + "/run", var + "/log", temp_dir_}) fs::create_directories(d, ec);
  st_->thread = std::thread([this] { supervise(); });
}

ManagedClamd::~ManagedClamd() {
  {
    std::lock_guard lk(st_->mu);
    st_->stop = true;
  }
  st_->cv.notify_all();
  if (st_->thread.joinable()) st_->thread.join();
  if (st_->child > 0) {
    ::kill(st_->child, SIGTERM);
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {  // up to 5 s
      if (::waitpid(st_->child, nullptr, WNOHANG) == st_->child) gone = true;
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!gone) {
      ::kill(st_->child, SIGKILL);
      ::waitpid(st_->child, nullptr, 0);
    }
    if (opt_.log) opt_.log(0, "clamd.stopped", "pid " + std::to_string(st_->child));
  }
  if (st_->owner) {  // a process that only used another's clamd must not touch its files
    std::error_code ec;
    fs::remove(temp_dir_, ec);  // only if clamd left it empty
  }
  if (st_->lock_fd >= 0) ::close(st_->lock_fd);
}

std::shared_ptr<ManagedClamd> ManagedClamd::acquire(const ManagedOptions& o) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<ManagedClamd>> live;
  std::string key = absolute(o.var_dir) + "|" + o.clamd_path + "|" + o.database_dir + "|" + o.temp_dir + "|" +
                    std::to_string(o.max_scan_size) + "|" + std::to_string(o.max_file_size) + "|" +
                    std::to_string(o.max_recursion) + "|" + std::to_string(o.max_files) + "|" +
                    std::to_string(o.scan_time_limit_ms) + "|" + std::to_string(o.max_threads);
  std::lock_guard lk(mu);
  if (auto p = live[key].lock()) return p;
  auto p = std::make_shared<ManagedClamd>(o);
  live[key] = p;
  return p;
}

ClamdAddress ManagedClamd::address() const {
  ClamdAddress a;
  a.unix_path = socket_path_;
  return a;
}

bool ManagedClamd::wait_ready(std::chrono::milliseconds total) const {
  ClamdClient c(address());
  auto end = Clock::now() + total;
  int exits_before = exits();
  for (int i = 0; i < 100000; ++i) {
    auto now = Clock::now();
    if (c.ping(std::min(end, now + std::chrono::milliseconds(500)))) return true;
    if (Clock::now() >= end) return false;
    if (exits() - exits_before >= 2) return false;  // it keeps dying (see clamd.log): don't wait it out
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int ManagedClamd::child_pid() const {
  std::lock_guard lk(st_->mu);
  return st_->child;
}

int ManagedClamd::exits() const {
  std::lock_guard lk(st_->mu);
  return st_->exits;
}

int ManagedClamd::restarts() const {
  std::lock_guard lk(st_->mu);
  return std::max(0, st_->starts - 1);
}

int ManagedClamd::reloads() const {
  std::lock_guard lk(st_->mu);
  return st_->reloads;
}

void ManagedClamd::supervise() {
  auto log = [this](int level, const char* ev, const std::string& d) {
    if (opt_.log) opt_.log(level, ev, d);
  };
  ClamdClient client(address());
  std::unique_lock lk(st_->mu);
  while (!st_->stop) {
    auto now = Clock::now();
    if (!st_->owner) {
      if (st_->lock_fd < 0) st_->lock_fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (st_->lock_fd >= 0 && ::flock(st_->lock_fd, LOCK_EX | LOCK_NB) == 0) st_->owner = true;
    }
    if (st_->owner) {
      if (st_->child > 0) {
        int status = 0;
        if (::waitpid(st_->child, &status, WNOHANG) == st_->child) {
          std::string how = WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                : "exit code " + std::to_string(WEXITSTATUS(status));
          log(1, "clamd.exited", "pid " + std::to_string(st_->child) + " ended with " + how + ", restart in " +
                                     std::to_string(st_->backoff.count()) + " s (see " + log_path_ + ")");
          st_->child = 0;
          ++st_->exits;
          st_->next_start = now + st_->backoff;
          st_->backoff = std::min(st_->backoff * 2, std::chrono::seconds(30));
        } else if (now - st_->started > std::chrono::seconds(60)) {
          st_->backoff = std::chrono::seconds(1);  // it has been running a while: next failure restarts fast
        }
      }
      if (st_->child == 0 && now >= st_->next_start) {
        // The configuration is rewritten at each start (edits are overwritten).
        std::string conf =
            "# Generated by mailmoat for its managed clamd; rewritten at every start.\n"
            "Foreground yes\n"
            "LocalSocket " + socket_path_ + "\n"
            "LocalSocketMode 660\n"
            "FixStaleSocket yes\n"
            "PidFile " + pid_path_ + "\n"
            "LogFile " + log_path_ + "\n"
            "LogTime yes\n"
            "LogFileMaxSize 10M\n"
            "LogRotate yes\n"
            "DatabaseDirectory " + opt_.database_dir + "\n"
            "TemporaryDirectory " + temp_dir_ + "\n"
            "MaxThreads " + std::to_string(opt_.max_threads) + "\n"
            "StreamMaxLength " + std::to_string(opt_.max_scan_size + (1 << 20)) + "\n"
            "MaxScanSize " + std::to_string(opt_.max_scan_size) + "\n"
            "MaxFileSize " + std::to_string(opt_.max_file_size) + "\n"
            "MaxRecursion " + std::to_string(opt_.max_recursion) + "\n"
            "MaxFiles " + std::to_string(opt_.max_files) + "\n"
            "MaxScanTime " + std::to_string(opt_.scan_time_limit_ms) + "\n"
            "AlertExceedsMax yes\n"
            "AlertEncryptedArchive yes\n"
            "ConcurrentDatabaseReload yes\n"
            "SelfCheck 0\n";  // mailmoat watches the signature files and sends RELOAD
        std::string tmp = conf_path_ + ".tmp";
        {
          std::ofstream f(tmp, std::ios::trunc);
          f << conf;
        }
        std::error_code ec;
        fs::rename(tmp, conf_path_, ec);
        // The directory is this var dir's alone (named after it, and we hold the lock): what a
        // killed clamd left there is stale.
        for (auto& e : fs::directory_iterator(temp_dir_, ec)) fs::remove_all(e.path(), ec);
        fs::create_directories(temp_dir_, ec);
        std::string fp = fingerprint(opt_.database_dir);
        int out = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        std::string arg_c = "-c";
        std::vector<char*> argv{const_cast<char*>(opt_.clamd_path.c_str()), arg_c.data(),
                                const_cast<char*>(conf_path_.c_str()), nullptr};
        pid_t parent = ::getpid();
        pid_t pid = ::fork();
        if (pid == 0) {
          // Only async-signal-safe calls until exec. clamd dies with this supervisor thread.
          ::prctl(PR_SET_PDEATHSIG, SIGTERM);
          if (::getppid() != parent) ::_exit(127);
          sigset_t all;
          sigemptyset(&all);
          ::sigprocmask(SIG_SETMASK, &all, nullptr);
          int devnull = ::open("/dev/null", O_RDWR);
          if (devnull >= 0) ::dup2(devnull, 0);
          if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
          }
          ::execv(argv[0], argv.data());
          ::_exit(127);
        }
        if (out >= 0) ::close(out);
        if (pid < 0) {
          log(2, "clamd.start_failed", std::string("fork: ") + std::strerror(errno));
          st_->next_start = now + st_->backoff;
        } else {
          st_->child = pid;
          st_->started = now;
          st_->last_check = now;
          st_->loaded = fp;
          ++st_->starts;
          log(0, "clamd.started", "pid " + std::to_string(pid) + ", signatures " + opt_.database_dir +
                                      ", socket " + socket_path_ + ", temporary files " + temp_dir_);
        }
      }
      if (st_->child > 0 && now - st_->last_check >= std::chrono::seconds(opt_.reload_check_s)) {
        st_->last_check = now;
        std::string fp = fingerprint(opt_.database_dir);
        if (fp != st_->loaded) {
          lk.unlock();
          auto r = client.command("RELOAD", Clock::now() + std::chrono::seconds(5));
          lk.lock();
          if (r && *r == "RELOADING") {
            st_->loaded = fp;
            ++st_->reloads;
            log(0, "clamd.reload", "signature files in " + opt_.database_dir + " changed");
          } else {
            log(1, "clamd.reload_failed", r ? *r : r.error());  // tried again at the next check
          }
        }
      }
    }
    st_->cv.wait_for(lk, std::chrono::milliseconds(st_->child > 0 ? 500 : 200));
  }
}

}  // namespace mm::av
