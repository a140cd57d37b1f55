// Online learning from administrator feedback (a message reported as spam or as not-spam), for the
// CLI (`mailmoat learn`) and later the quarantine release and the API: the message is learnt into
// the live model (Model::learn_feedback: remembered, so a repeated report is a no-op and a report
// with the other label corrects the first) and the model is saved into the store as the blob
// "classifier". The second stage (stack) is not refitted: feedback moves the token statistics,
// which the stack weighs; `mailmoat train` refits it.
#pragma once
#include "classifier/model.h"
#include "message/message.h"
#include "store/store.h"
#include "util/status.h"

namespace mm::classifier {

inline constexpr const char* kModelBlobName = "classifier";

// The stored model, or an empty (untrained) one when none is stored; an error if it is corrupt.
Result<Model> load_model(store::Store& st);

struct FeedbackOutcome {
  Feedback what = Feedback::Learned;
  double before = 0.5, after = 0.5;  // the classifier's spam probability before and after
};

// Learns one message into `model` (safe while other threads scan with it) and saves the model.
Result<FeedbackOutcome> learn_feedback(store::Store& st, Model& model, const message::Message& msg, bool is_spam);

}  // namespace mm::classifier
