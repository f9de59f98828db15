#include "base/status.h"

namespace weft {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalid:
    case Code::kNotFound:
    case Code::kTooLarge:
      return kExitInvalid;
    case Code::kUnauthenticated:
    case Code::kDenied:
      return kExitDenied;
    case Code::kCanceled:
      return kExitCanceled;
    case Code::kBusy:
      return kExitBusy;
    case Code::kIo:
    case Code::kInternal:
      return kExitSystem;
  }
  return kExitSystem;
}

}  // namespace weft
