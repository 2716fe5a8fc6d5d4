#include "connectors/builtin.hpp"

#include "connectors/dummy/dummy_connector.hpp"
#include "connectors/hubspot/hubspot_connector.hpp"
#include "connectors/jsonl/jsonl_connector.hpp"
#include "connectors/klaviyo/klaviyo_connector.hpp"
#include "connectors/webhook/webhook_connector.hpp"

namespace tributary::connectors {

types::result<registry> builtin_registry(storage_thread* storage) {
    std::vector<registration> all;
    all.push_back(dummy::dummy_registration());
    all.push_back(hubspot::hubspot_registration());
    all.push_back(jsonl::jsonl_registration(storage));
    all.push_back(klaviyo::klaviyo_registration());
    all.push_back(webhook::webhook_registration());
    return registry::build(std::move(all));
}

}  // namespace tributary::connectors
