namespace LeanProxy.Integration.Tests;

/// <summary>
/// Categories a quick local run may skip (<c>./build.sh test --filter "TestCategory!=Soak&amp;TestCategory!=Registry&amp;TestCategory!=Load"</c>);
/// CI runs everything.
/// </summary>
internal static class TestCategories
{
    /// <summary>The chaos soak: faults for tens of seconds (LEANPROXY_CHAOS_SECONDS).</summary>
    public const string Soak = "Soak";

    /// <summary>Reaches the npm registry (npm install).</summary>
    public const string Registry = "Registry";

    /// <summary>Thousands of connections or requests: minutes on a small machine.</summary>
    public const string Load = "Load";
}
