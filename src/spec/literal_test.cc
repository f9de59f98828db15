#include "spec/literal.h"

#include <cmath>

#include <gtest/gtest.h>

namespace weft {
namespace {

struct Case {
  const char* text;
  LiteralKind kind;
  const char* rendered;  // Python's str() of PyYAML's safe_load value
};

// Every row was checked against PyYAML 6 (yaml.safe_load) and Python's str().
const Case kCases[] = {
    {"yes", LiteralKind::kBool, "True"},
    {"No", LiteralKind::kBool, "False"},
    {"ON", LiteralKind::kBool, "True"},
    {"off", LiteralKind::kBool, "False"},
    {"true", LiteralKind::kBool, "True"},
    {"False", LiteralKind::kBool, "False"},
    {"TRUE", LiteralKind::kBool, "True"},
    {"y", LiteralKind::kString, "y"},
    {"n", LiteralKind::kString, "n"},
    {"~", LiteralKind::kNull, "None"},
    {"null", LiteralKind::kNull, "None"},
    {"Null", LiteralKind::kNull, "None"},
    {"", LiteralKind::kNull, "None"},
    {"1e-3", LiteralKind::kString, "1e-3"},
    {"1.0e-3", LiteralKind::kFloat, "0.001"},
    {"1.0e+3", LiteralKind::kFloat, "1000.0"},
    {"1.0e3", LiteralKind::kString, "1.0e3"},
    {"01", LiteralKind::kInt, "1"},
    {"010", LiteralKind::kInt, "8"},
    {"08", LiteralKind::kString, "08"},
    {"0x1F", LiteralKind::kInt, "31"},
    {"0b101", LiteralKind::kInt, "5"},
    {"1_000", LiteralKind::kInt, "1000"},
    {"-17", LiteralKind::kInt, "-17"},
    {"+5", LiteralKind::kInt, "5"},
    {"1:30", LiteralKind::kInt, "90"},
    {"1:30.5", LiteralKind::kFloat, "90.5"},
    {"3.14", LiteralKind::kFloat, "3.14"},
    {".5", LiteralKind::kFloat, "0.5"},
    {"-.5", LiteralKind::kString, "-.5"},
    {"1.", LiteralKind::kFloat, "1.0"},
    {"0.1", LiteralKind::kFloat, "0.1"},
    {"1e16", LiteralKind::kString, "1e16"},
    {"100000000000000000000", LiteralKind::kInt, "100000000000000000000"},
    {".inf", LiteralKind::kFloat, "inf"},
    {"-.Inf", LiteralKind::kFloat, "-inf"},
    {".nan", LiteralKind::kFloat, "nan"},
    {"2023-01-02", LiteralKind::kTimestamp, "2023-01-02"},
    {"2023-1-2", LiteralKind::kString, "2023-1-2"},
    {"2001-12-14t21:59:43.10-05:00", LiteralKind::kTimestamp, "2001-12-14 21:59:43.100000-05:00"},
    {"2001-12-14 21:59:43.10", LiteralKind::kTimestamp, "2001-12-14 21:59:43.100000"},
    {"0.0001", LiteralKind::kFloat, "0.0001"},
    {"0.00001", LiteralKind::kFloat, "1e-05"},
    {"1234567890123456.0", LiteralKind::kFloat, "1234567890123456.0"},
    {"12345678901234567.0", LiteralKind::kFloat, "1.2345678901234568e+16"},
    {"0o17", LiteralKind::kString, "0o17"},
    {"0.30000000000000004", LiteralKind::kFloat, "0.30000000000000004"},
    {"-0.0", LiteralKind::kFloat, "-0.0"},
    {"1.5e-5", LiteralKind::kFloat, "1.5e-05"},
    {"1.5e-05", LiteralKind::kFloat, "1.5e-05"},
    {"1.5E-05", LiteralKind::kFloat, "1.5e-05"},
    {"1.5e5", LiteralKind::kString, "1.5e5"},
    {"0.000015", LiteralKind::kFloat, "1.5e-05"},
    {"hello world", LiteralKind::kString, "hello world"},
    {"20", LiteralKind::kInt, "20"},
    {"1.8", LiteralKind::kFloat, "1.8"},
};

TEST(Yaml11Test, PlainScalarsResolveAndRenderLikePyYaml) {
  for (const Case& c : kCases) {
    std::optional<Literal> v = ResolvePlain(c.text);
    ASSERT_TRUE(v.has_value()) << c.text;
    EXPECT_EQ(v->kind, c.kind) << "`" << c.text << "` resolved as " << v->KindName();
    EXPECT_EQ(v->Render(), c.rendered) << "`" << c.text << "`";
  }
}

TEST(Yaml11Test, ValueKeyAndImpossibleDatesAreRefused) {
  EXPECT_FALSE(ResolvePlain("=").has_value());
  EXPECT_FALSE(ResolvePlain("2023-13-01").has_value());
  EXPECT_FALSE(ResolvePlain("2023-02-29").has_value());
  EXPECT_TRUE(ResolvePlain("2024-02-29").has_value());
}

TEST(Yaml11Test, QuotedAndTaggedScalars) {
  yaml::Node n;
  n.text = "yes";
  n.style = yaml::Style::kDoubleQuoted;
  std::string err;
  EXPECT_EQ(ScalarValue(n, &err)->kind, LiteralKind::kString);
  n.style = yaml::Style::kPlain;
  n.tag = "tag:yaml.org,2002:str";
  EXPECT_EQ(ScalarValue(n, &err)->Render(), "yes");
  n.tag = "tag:yaml.org,2002:int";
  n.text = "12";
  EXPECT_EQ(ScalarValue(n, &err)->kind, LiteralKind::kInt);
  n.text = "abc";
  EXPECT_FALSE(ScalarValue(n, &err).has_value());
  EXPECT_NE(err.find("!!int"), std::string::npos);
  n.tag = "!custom";
  EXPECT_FALSE(ScalarValue(n, &err).has_value());
  EXPECT_NE(err.find("unknown tag"), std::string::npos);
}

TEST(Yaml11Test, FloatReprMatchesPython) {
  EXPECT_EQ(PythonFloatRepr(0.001), "0.001");
  EXPECT_EQ(PythonFloatRepr(1e16), "1e+16");
  EXPECT_EQ(PythonFloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(PythonFloatRepr(1e-5), "1e-05");
  EXPECT_EQ(PythonFloatRepr(1.5e-5), "1.5e-05");
  EXPECT_EQ(PythonFloatRepr(2.5e100), "2.5e+100");
  EXPECT_EQ(PythonFloatRepr(-3.0), "-3.0");
  EXPECT_EQ(PythonFloatRepr(0.0), "0.0");
  EXPECT_EQ(PythonFloatRepr(123.456), "123.456");
}

TEST(Yaml11Test, AzureTypedReadings) {
  // integer = int(float(v)), number = float(v), boolean = str(v).lower() == "true".
  EXPECT_EQ(AsInteger(Literal::String("1e-3")), 0);
  EXPECT_EQ(AsInteger(Literal::String("5")), 5);
  EXPECT_EQ(AsInteger(Literal::Float(5.9)), 5);
  EXPECT_EQ(AsInteger(Literal::Float(-5.9)), -5);
  EXPECT_FALSE(AsInteger(Literal::String("abc")).has_value());
  EXPECT_FALSE(AsInteger(Literal::Float(INFINITY)).has_value());
  EXPECT_DOUBLE_EQ(*AsNumber(Literal::String("1e-3")), 0.001);
  EXPECT_DOUBLE_EQ(*AsNumber(Literal::String(" 2.5 ")), 2.5);
  EXPECT_DOUBLE_EQ(*AsNumber(Literal::String("1_000.5")), 1000.5);
  EXPECT_FALSE(AsNumber(Literal::String("1__0")).has_value());
  EXPECT_FALSE(AsNumber(Literal::String("0x10")).has_value());
  EXPECT_TRUE(std::isinf(*AsNumber(Literal::String("-Infinity"))));
  EXPECT_TRUE(AsBoolean(Literal::Bool(true)));
  EXPECT_TRUE(AsBoolean(Literal::String("TRUE")));
  EXPECT_FALSE(AsBoolean(Literal::String("yes")));
  EXPECT_FALSE(AsBoolean(Literal::Int(1)));
}

}  // namespace
}  // namespace weft
