// Role views and pruning of schemas (krenalis-model §6.2).

#include "core/types/prune.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tributary::types;

namespace {

type schema() {
    const auto location =
        make_object({
                        property{.name = "city", .type = make_string().value(), .read_optional = true},
                        property{.name = "zip", .type = make_string().value(), .create_required = true},
                    })
            .value();
    const auto item =
        make_object({
                        property{.name = "sku", .type = make_string().value(), .update_required = true},
                        property{.name = "qty", .type = make_int(32).value(), .read_optional = true},
                    })
            .value();
    return make_object({
                           property{.name = "id",
                                    .type = make_int(64).value(),
                                    .create_required = true,
                                    .update_required = true,
                                    .read_optional = true},
                           property{.name = "location", .type = location, .nullable = true},
                           property{.name = "items", .type = make_array(item, {.max_elements = 10}).value()},
                           property{.name = "by_code", .type = make_map(item).value()},
                       })
        .value();
}

std::vector<std::string> names(const type& t) {
    std::vector<std::string> out;
    for (const auto& p : t.properties()) out.push_back(p.name);
    return out;
}

}  // namespace

TEST(TypesAsRole_Source, ClearsCreateAndUpdateRequiredEverywhere) {
    const auto t = as_role(schema(), role::source);
    const auto* id = find_path(t, "id");
    EXPECT_FALSE(id->create_required);
    EXPECT_FALSE(id->update_required);
    EXPECT_TRUE(id->read_optional);
    EXPECT_FALSE(find_path(t, "location.zip")->create_required);
    EXPECT_FALSE(find_path(t, "items.sku")->update_required);
    EXPECT_FALSE(find_path(t, "by_code.sku")->update_required);
    EXPECT_TRUE(find_path(t, "items.qty")->read_optional);
    EXPECT_TRUE(find_path(t, "location")->nullable);
    EXPECT_EQ(find_path(t, "items")->type.max_elements(), 10u);
}

TEST(TypesAsRole_Destination, ClearsReadOptionalEverywhere) {
    const auto t = as_role(schema(), role::destination);
    EXPECT_FALSE(find_path(t, "id")->read_optional);
    EXPECT_TRUE(find_path(t, "id")->create_required);
    EXPECT_FALSE(find_path(t, "location.city")->read_optional);
    EXPECT_FALSE(find_path(t, "items.qty")->read_optional);
    EXPECT_TRUE(find_path(t, "items.sku")->update_required);
    // Applying a role twice changes nothing more.
    EXPECT_EQ(as_role(t, role::destination), t);
    EXPECT_NE(t, schema());
}

TEST(TypesAsRole_NonObject, IsReturnedUnchanged) {
    EXPECT_EQ(as_role(make_boolean(), role::source), make_boolean());
    EXPECT_FALSE(as_role(type{}, role::source).valid());
}

TEST(TypesPrune_LeafPath, KeepsTheChainAndDropsEmptiedObjects) {
    const auto t = prune_at_path(schema(), "location.city");
    ASSERT_TRUE(t.valid());
    EXPECT_EQ(names(t), (std::vector<std::string>{"location"}));
    EXPECT_EQ(names(find_path(t, "location")->type), (std::vector<std::string>{"city"}));
    EXPECT_TRUE(find_path(t, "location")->nullable);
}

TEST(TypesPrune_ThroughArrays, KeepsArrayOptions) {
    const auto t = prune_at_path(schema(), "items.sku");
    ASSERT_TRUE(t.valid());
    const auto& items = find_path(t, "items")->type;
    ASSERT_EQ(items.kind(), kind::array);
    EXPECT_EQ(items.max_elements(), 10u);
    EXPECT_EQ(names(items.element()), (std::vector<std::string>{"sku"}));
}

TEST(TypesPrune_AcceptedParent, IsKeptWhole) {
    const auto t = prune(schema(), [](std::string_view path, const property&) { return path == "location"; });
    EXPECT_EQ(names(find_path(t, "location")->type), (std::vector<std::string>{"city", "zip"}));
}

TEST(TypesPrune_Predicate, SeesPathsAndProperties) {
    std::vector<std::string> seen;
    const auto t = prune(schema(), [&](std::string_view path, const property& p) {
        seen.emplace_back(path);
        return p.read_optional;
    });
    EXPECT_EQ(seen,
              (std::vector<std::string>{"id", "location", "location.city", "location.zip", "items",
                                        "items.sku", "items.qty", "by_code", "by_code.sku", "by_code.qty"}));
    EXPECT_EQ(names(t), (std::vector<std::string>{"id", "location", "items", "by_code"}));
    EXPECT_EQ(names(find_path(t, "location")->type), (std::vector<std::string>{"city"}));
}

TEST(TypesPrune_NothingKept, ReturnsTheInvalidType) {
    EXPECT_FALSE(prune_at_path(schema(), "nope").valid());
    EXPECT_FALSE(prune_at_path(schema(), "id.x").valid());
    EXPECT_FALSE(prune(make_boolean(), [](std::string_view, const property&) { return true; }).valid());
}

TEST(TypesPrune_Everything, EqualsTheInput) {
    EXPECT_EQ(prune(schema(), [](std::string_view, const property&) { return true; }), schema());
}
