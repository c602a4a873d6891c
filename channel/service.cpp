#include "channel/service.hpp"

#include <fmt/format.h>

#include <memory>
#include <utility>

namespace otaledger::channel {

namespace {

using phase = events::execution_phase;

auto fail(errc e, std::string message) {
  return boost::outcome_v2::failure(make_problem(e, std::move(message)));
}

problem from_outcome(const actors::command_outcome& o) {
  return problem{o.error, o.message.empty() ? o.error.message() : o.message};
}

problem from_error(const std::error_code& ec, std::string_view what) {
  return problem{ec, fmt::format("{}: {}", what, ec.message())};
}

int rank(phase p) {
  switch (p) {
  case phase::notified:
    return 0;
  case phase::downloading:
    return 1;
  case phase::downloaded:
    return 2;
  case phase::installing:
    return 3;
  default:
    return -1;
  }
}

/// The package (or, for a verification push, the firmware image) of an execution.
struct resolved_package {
  package_ref ref;
  std::string blob;
};

void resolve(actors::runtime& rt, const events::execution_terms& terms,
             std::function<void(checked<resolved_package>)> done) {
  if (terms.verification) {
    rt.query("firmware-" + terms.package, [terms, done = std::move(done)](auto s) {
      if (!s) return done(from_error(s.error(), "firmware unavailable"));
      auto* f = std::get_if<domain::firmware_state>(&s.value());
      if (!f || !f->exists || f->deleted || !f->image)
        return done(fail(errc::not_found, fmt::format("firmware {} has no image", terms.package)));
      resolved_package r;
      r.ref = {f->id,         events::package_type::full, f->kind, "", f->version, f->image->size,
               f->image->md5, f->image->sha256,           ""};
      r.blob = f->image->blob;
      done(std::move(r));
    });
    return;
  }
  rt.query("package-" + terms.package, [terms, done = std::move(done)](auto s) {
    if (!s) return done(from_error(s.error(), "package unavailable"));
    auto* p = std::get_if<domain::package_state>(&s.value());
    if (!p || !p->exists || p->deleted)
      return done(fail(errc::not_found, fmt::format("package {} does not exist", terms.package)));
    resolved_package r;
    r.ref = {
        p->id,       p->type,        p->kind, p->initial_version, p->target_version, p->file.size,
        p->file.md5, p->file.sha256, ""};
    r.blob = p->file.blob;
    done(std::move(r));
  });
}

problem make_problem_forbidden(const std::string& product) {
  return problem{
      domain::make_error_code(domain::errc::forbidden),
      fmt::format("product {} does not accept this secret for self-registration", product)};
}

} // namespace

const domain::execution_state* running_execution(const domain::device_state& d) {
  for (const auto& x : d.executions)
    if (rank(x.phase) >= 0) return &x;
  return nullptr;
}

instruction_kind kind_of(const domain::execution_state& x) {
  if (x.cancel_requested) return instruction_kind::cancel;
  if (x.held) return instruction_kind::hold;
  if (x.terms.download_only && x.install_released) return instruction_kind::install_release;
  return instruction_kind::upgrade;
}

device_service::device_service(actors::runtime& rt, credential_store& credentials,
                               storage::blob_store* blobs, service_options options)
    : rt_(rt), credentials_(credentials), blobs_(blobs), options_(std::move(options)) {}

checked<void> device_service::authenticate(const std::string& device, std::string_view secret) {
  if (secret.empty())
    return fail(errc::unauthorized, "a device credential is required (docs/device-protocol.md)");
  auto v = credentials_.verify(device, secret);
  if (!v) return from_error(v.error(), "credentials unavailable");
  if (!v.value())
    return fail(errc::unauthorized, fmt::format("wrong credential for device {}", device));
  return boost::outcome_v2::success();
}

std::string device_service::download_url(const std::string& device,
                                         const std::string& package) const {
  return fmt::format("{}/v1/devices/{}/packages/{}", options_.download_base_url, device, package);
}

void device_service::handle(const std::string& device, device_message m,
                            std::function<void(reply)> done) {
  handle(device, std::move(m), std::string{}, std::move(done));
}

void device_service::handle(const std::string& device, device_message m, std::string reason,
                            std::function<void(reply)> done) {
  auto* p = std::get_if<device_progress>(&m);
  if (!p) return submit(device, std::move(m), std::move(reason), std::move(done));
  // Progress that goes back (downloading after downloaded, a lower percent)
  // is refused here so that the device learns it is out of step; the domain
  // alone would accept it as stale and record nothing.
  rt_.query(
      "device-" + device, [this, device, m = std::move(m), reason = std::move(reason),
                           done = std::move(done)](result<actors::aggregate_state> s) mutable {
        const auto& pr = std::get<device_progress>(m);
        if (s) {
          if (auto* d = std::get_if<domain::device_state>(&s.value())) {
            if (auto* x = d->execution(pr.task); x && rank(x->phase) >= 0) {
              bool back = rank(pr.phase) < rank(x->phase) ||
                          (pr.phase == phase::downloading && x->phase == phase::downloading &&
                           pr.percent < x->percent);
              if (back)
                return done(reply{
                    pr.id, false,
                    make_problem(errc::out_of_order,
                                 fmt::format("device {} reported {} {}% in task {}, but it already "
                                             "reported {} {}%",
                                             device, events::enum_name(pr.phase), pr.percent,
                                             pr.task, events::enum_name(x->phase), x->percent))});
            }
          }
        }
        submit(device, std::move(m), std::move(reason), std::move(done));
      });
}

void device_service::submit(const std::string& device, device_message m, std::string reason,
                            std::function<void(reply)> done) {
  auto id = message_id(m);
  auto meta = to_meta(device, id);
  meta.reason = std::move(reason);
  rt_.submit(to_command(device, m), std::move(meta),
             [id, done = std::move(done)](actors::command_outcome o) {
               reply r{id, o.duplicate, std::nullopt, o.first() != 0};
               if (!o.ok()) r.error = from_outcome(o);
               done(std::move(r));
             });
}

void device_service::register_device(device_registration r,
                                     std::function<void(checked<registration_reply>)> done) {
  auto product = r.product;
  rt_.query("product-" + product, [this, r = std::move(r), done = std::move(done)](
                                      result<actors::aggregate_state> s) mutable {
    if (!s) return done(from_error(s.error(), "catalog unavailable"));
    auto* p = std::get_if<domain::product_state>(&s.value());
    auto presented = sha256_hex(r.product_secret);
    if (!p || !p->exists || p->secret_hash.empty() || p->secret_hash != presented)
      return done(make_problem_forbidden(r.product));
    registration_reply out;
    out.device = r.device;
    std::string secret = r.secret;
    if (secret.empty()) out.secret = secret = generate_secret();
    auto had = credentials_.has(r.device);
    if (!had) return done(from_error(had.error(), "credentials unavailable"));
    auto claimed = credentials_.claim(r.device, secret);
    if (!claimed) return done(from_error(claimed.error(), "credentials unavailable"));
    if (!claimed.value())
      return done(fail(errc::unauthorized,
                       fmt::format("device {} is registered with another secret", r.device)));
    bool fresh_credential = !had.value();
    domain::register_device cmd{r.device, r.product,      r.name,         r.imei, r.mac,
                                r.region, r.fota_version, r.sota_version, true,   presented};
    rt_.submit(cmd, to_meta(r.device, r.id),
               [this, out = std::move(out), fresh_credential, device = r.device,
                done = std::move(done)](actors::command_outcome o) mutable {
                 if (o.ok()) {
                   out.created = !o.duplicate;
                   return done(std::move(out));
                 }
                 if (o.error == domain::errc::already_exists && !fresh_credential) {
                   out.created = false; // a repeat with the same secret
                   return done(std::move(out));
                 }
                 if (fresh_credential) (void)credentials_.remove(device);
                 done(from_outcome(o));
               });
  });
}

instruction device_service::make_instruction(const domain::execution_state& x) const {
  instruction i;
  i.kind = kind_of(x);
  i.task = x.task;
  i.attempt = x.attempt;
  i.download_only = x.terms.download_only;
  i.install_allowed = domain::install_allowed(x);
  return i;
}

void device_service::current_instruction(
    const std::string& device, std::function<void(checked<std::optional<instruction>>)> done) {
  rt_.query("device-" + device, [this, device, done = std::move(done)](
                                    result<actors::aggregate_state> s) mutable {
    if (!s) return done(from_error(s.error(), "device unavailable"));
    auto* d = std::get_if<domain::device_state>(&s.value());
    if (!d || !d->registered)
      return done(fail(errc::not_found, fmt::format("device {} is not registered", device)));
    auto* x = running_execution(*d);
    if (!x) return done(std::optional<instruction>{});
    auto base = make_instruction(*x);
    resolve(rt_, x->terms,
            [this, device, base = std::move(base),
             done = std::move(done)](checked<resolved_package> p) mutable {
              if (!p) return done(p.error());
              base.package = std::move(p.value().ref);
              base.package.url = download_url(device, base.package.id);
              done(std::optional<instruction>{std::move(base)});
            });
  });
}

void device_service::instruction_for(const actors::device_notice& n,
                                     std::function<void(checked<instruction>)> done) {
  instruction base;
  switch (n.kind) {
  case actors::notice_kind::upgrade:
    base.kind = instruction_kind::upgrade;
    break;
  case actors::notice_kind::hold:
    base.kind = instruction_kind::hold;
    break;
  case actors::notice_kind::release:
    base.kind = instruction_kind::release;
    break;
  case actors::notice_kind::install_release:
    base.kind = instruction_kind::install_release;
    break;
  case actors::notice_kind::cancel:
    base.kind = instruction_kind::cancel;
    break;
  }
  base.task = n.task;
  base.attempt = n.attempt;
  base.download_only = n.terms.download_only;
  base.install_allowed = base.kind != instruction_kind::hold &&
                         base.kind != instruction_kind::cancel &&
                         (!n.terms.download_only || base.kind == instruction_kind::install_release);
  resolve(rt_, n.terms,
          [this, device = n.device, base = std::move(base),
           done = std::move(done)](checked<resolved_package> p) mutable {
            if (!p) return done(p.error());
            base.package = std::move(p.value().ref);
            base.package.url = download_url(device, base.package.id);
            done(std::move(base));
          });
}

void device_service::open_download(const std::string& device, const std::string& package,
                                   std::function<void(checked<download>)> done) {
  rt_.query("device-" + device, [this, device, package, done = std::move(done)](
                                    result<actors::aggregate_state> s) mutable {
    if (!s) return done(from_error(s.error(), "device unavailable"));
    auto* d = std::get_if<domain::device_state>(&s.value());
    const domain::execution_state* mine = nullptr;
    if (d)
      for (const auto& x : d->executions)
        if (x.terms.package == package && rank(x.phase) >= 0) mine = &x;
    if (!mine)
      return done(
          fail(errc::not_found,
               fmt::format("device {} has no running execution of package {}", device, package)));
    resolve(rt_, mine->terms, [this, done = std::move(done)](checked<resolved_package> p) {
      if (!p) return done(p.error());
      if (!blobs_) return done(fail(errc::unavailable, "downloads are not served here"));
      auto info = blobs_->stat(p.value().blob);
      if (!info) return done(from_error(info.error(), "package file unavailable"));
      done(download{info.value().id, info.value().size, info.value().sha256, info.value().md5});
    });
  });
}

} // namespace otaledger::channel
