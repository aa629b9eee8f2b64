using System.Text.RegularExpressions;

namespace LeanProxy.Engine.Kv;

/// <summary>KV binding names: what can be <c>env.BINDING</c>, a JavaScript identifier (checked by serve --kv and by a deploy).</summary>
public static partial class KvBindingNames
{
    public static bool IsValid(string binding) => Identifier().IsMatch(binding);

    [GeneratedRegex("^[A-Za-z_$][A-Za-z0-9_$]*$")]
    private static partial Regex Identifier();
}
