#include "classifier/feedback.h"

namespace mm::classifier {

Result<Model> load_model(store::Store& st) {
  auto blob = st.get_blob(kModelBlobName);
  if (!blob) return Result<Model>(Model());
  return Model::deserialize(*blob);
}

Result<FeedbackOutcome> learn_feedback(store::Store& st, Model& model, const message::Message& msg, bool is_spam) {
  Features f = extract(msg, model.options().tokenizer);
  FeedbackOutcome out;
  out.before = model.classify(f);
  out.what = model.learn_feedback(f, is_spam);
  out.after = model.classify(f);
  if (out.what != Feedback::AlreadyLearned)
    if (Status s = st.put_blob(kModelBlobName, model.serialize()); !s)
      return Status::error("saving the classifier model: " + s.message());
  return out;
}

}  // namespace mm::classifier
