using System.Text;
using System.Text.RegularExpressions;
using LeanProxy.Engine.Pages;
using LeanProxy.Engine.Protocol;

namespace LeanProxy.Engine.Tests;

/// <summary>The page protocol's two sides name the same numbers: Runtime/protocol.js against PageProtocol.cs.</summary>
public sealed partial class PageProtocolTests
{
    private static readonly string ProtocolJs = Encoding.UTF8.GetString(PageServer.RuntimeModules[PageServer.RuntimePrefix + "protocol.js"]);

    [GeneratedRegex(@"export const (\w+) = Object\.freeze\(\{(?<body>[^}]*)\}\)")]
    private static partial Regex FrozenObject();

    [GeneratedRegex(@"(?<name>\w+):\s*(?<value>\d+)")]
    private static partial Regex Member();

    private static Dictionary<string, int> JavaScriptConstants(string name)
    {
        var block = FrozenObject().Matches(ProtocolJs).SingleOrDefault(m => m.Groups[1].Value == name)
            ?? throw new AssertionException($"protocol.js has no `export const {name} = Object.freeze({{…}})`.");
        var body = string.Join('\n', block.Groups["body"].Value.Split('\n').Select(line => line.Split("//")[0]));
        return Member().Matches(body).ToDictionary(m => m.Groups["name"].Value, m => int.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static Dictionary<string, int> CSharpConstants<T>() where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(v => v.ToString(), v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture));

    [Test]
    public void HostMessageKindsMatch() => Assert.That(JavaScriptConstants("HostMessage"), Is.EquivalentTo(CSharpConstants<HostMessageKind>()));

    [Test]
    public void PageMessageKindsMatch() => Assert.That(JavaScriptConstants("PageMessage"), Is.EquivalentTo(CSharpConstants<PageMessageKind>()));

    [Test]
    public void BodyEncodingsMatch() => Assert.That(JavaScriptConstants("BodyEncoding"), Is.EquivalentTo(CSharpConstants<BodyEncoding>()));

    [Test]
    public void FetchCallsMatch() => Assert.That(JavaScriptConstants("FetchCall"), Is.EquivalentTo(CSharpConstants<FetchCallKind>()));

    [Test]
    public void HandlerFailuresMatch() => Assert.That(JavaScriptConstants("HandlerFailure"), Is.EquivalentTo(CSharpConstants<HandlerFailure>()));

    [Test]
    public void EveryKindHasItsOwnNumber()
    {
        Assert.That(CSharpConstants<HostMessageKind>().Values, Is.Unique);
        Assert.That(CSharpConstants<PageMessageKind>().Values, Is.Unique);
    }

    [Test]
    public void TheRuntimeModulesAreServedUnderOnePath()
    {
        Assert.That(PageServer.RuntimeModules.Keys, Is.SupersetOf(new[] { "index.js", "protocol.js", "facades.js", "http.js", "streams.js", "tcp.js", "udp.js", "channel.js" }.Select(n => PageServer.RuntimePrefix + n)));

        // Every module the runtime imports is one of them (relative imports inside the runtime path).
        foreach (var (path, bytes) in PageServer.RuntimeModules)
        {
            foreach (Match import in Regex.Matches(Encoding.UTF8.GetString(bytes), @"from ""\./([\w.]+)""|import ""\./([\w.]+)"""))
            {
                var target = PageServer.RuntimePrefix + (import.Groups[1].Success ? import.Groups[1].Value : import.Groups[2].Value);
                Assert.That(PageServer.RuntimeModules.ContainsKey(target), Is.True, $"{path} imports {target}, which is not served");
            }
        }
    }

    [Test]
    public void OnlyProtocolJsWritesMessageKindsAsNumbers()
    {
        // A message is built as [PageMessage.X, id, ...]; a literal [id, -1] or [1, id] elsewhere would bypass the names.
        foreach (var (path, bytes) in PageServer.RuntimeModules.Where(m => !m.Key.EndsWith("protocol.js", StringComparison.Ordinal)))
        {
            var text = Encoding.UTF8.GetString(bytes);
            Assert.That(Regex.IsMatch(text, @"post\(\[\s*-?\d"), Is.False, $"{path} posts a message with a bare number");
            Assert.That(Regex.IsMatch(text, @"\[\s*(?:this\.)?id\s*,\s*-?\d"), Is.False, $"{path} builds a message as [id, number]");
        }
    }
}
