using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Integration.Tests;

/// <summary>
/// Hostile bundles deployed to a running node through its admin API: paths that leave the bundle, links, a gzip bomb
/// that unpacks to 10 GB, 100,000 tiny files, and bodies that are not archives. Each is refused with its status and
/// reason, and leaves nothing behind — no app in the store, no file on disk — while a good deploy still works.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HostileBundleTests
{
    public static IEnumerable<TestCaseData> Bundles()
    {
        yield return new TestCaseData("zip-slip", 400, "bad_bundle", "..").SetName("a path that leaves the bundle");
        yield return new TestCaseData("absolute", 400, "bad_bundle", "/etc/").SetName("an absolute path");
        yield return new TestCaseData("symlink", 400, "bad_bundle", "symbolic link").SetName("a symbolic link");
        yield return new TestCaseData("hardlink", 400, "bad_bundle", "link").SetName("a hard link");
        yield return new TestCaseData("bomb", 413, "bundle_too_large", "unpacks to more than").SetName("a gzip bomb of 10 GB");
        yield return new TestCaseData("many-files", 400, "too_many_files", "more than 10000 files").SetName("100,000 tiny files");
        yield return new TestCaseData("not-tar", 400, "bad_bundle", "not a tar").SetName("a body that is not an archive");
        yield return new TestCaseData("truncated", 400, "bad_bundle", "not a tar").SetName("a truncated tar.gz");
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task HostileBundlesAreRefusedAndLeaveNothingBehind(CancellationToken cancellationToken)
    {
        await using var node = await NodeHarness.StartOnSqliteAsync(admin: true, cancellationToken);
        var filesBefore = FilesOutsideTheBrowserProfile(node.Process.TempDirectory);
        foreach (var data in Bundles())
        {
            var (kind, status, code, reason) = ((string)data.Arguments[0]!, (int)data.Arguments[1]!, (string)data.Arguments[2]!, (string)data.Arguments[3]!);
            using var content = new ByteArrayContent(Build(kind));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/gzip");
            var (answered, body) = await node.AdminAsync(HttpMethod.Put, "/v1/apps/evil", cancellationToken, content);
            Assert.That(answered, Is.EqualTo(status), kind + ": " + body);
            Assert.That(body, Does.Contain(code).And.Contain(reason), kind);
        }

        Assert.That((await node.AdminAsync(HttpMethod.Get, "/v1/apps", cancellationToken)).Body, Does.Not.Contain("evil"), "nothing in the store");
        Assert.That((await node.GetAsync("evil", "/", cancellationToken)).Status, Is.EqualTo(404));
        Assert.That(FilesOutsideTheBrowserProfile(node.Process.TempDirectory), Is.EqualTo(filesBefore), "nothing on disk");
        Assert.That((await node.CliAsync(cancellationToken, "deploy", LeanProxyProcess.AppPath("hostile"), "--name", "good")).Code, Is.Zero, "a good deploy still works");
        Assert.That(await node.GetAsync("good", "/count", cancellationToken), Is.EqualTo((200, "1")));
    }

    private static string[] FilesOutsideTheBrowserProfile(string temp) =>
        [.. Directory.EnumerateFiles(temp, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(temp, f))
            .Where(f => !f.StartsWith("leanproxy-", StringComparison.Ordinal) && !f.StartsWith("clr-", StringComparison.Ordinal) && !f.StartsWith("dotnet-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    private static byte[] Build(string kind) => kind switch
    {
        "zip-slip" => TarGz(w => { File(w, "index.js", "export default {}"); File(w, "../../evil.js", "x"); }),
        "absolute" => TarGz(w => { File(w, "index.js", "export default {}"); File(w, "/etc/evil.js", "x"); }),
        "symlink" => TarGz(w => { File(w, "index.js", "export default {}"); w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "secrets.js") { LinkName = "/etc/passwd" }); }),
        "hardlink" => TarGz(w => { File(w, "index.js", "export default {}"); w.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, "shadow.js") { LinkName = "/etc/shadow" }); }),
        "bomb" => Bomb(),
        "many-files" => TarGz(w =>
        {
            File(w, "index.js", "export default {}");
            for (var i = 0; i < 100_000; i++)
            {
                File(w, $"f/{i}.js", "1");
            }
        }),
        "not-tar" => Encoding.ASCII.GetBytes("this is not an archive at all"),
        "truncated" => TarGz(w => File(w, "index.js", new string('x', 100_000)))[..200],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static void File(TarWriter writer, string name, string text) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });

    private static byte[] TarGz(Action<TarWriter> write)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            write(writer);
        }

        return output.ToArray();
    }

    /// <summary>A tar.gz that unpacks to 10 GB: an index.js entry that says 10 GB, then 100 gzip members of 100 MB of zeros each (10 MB on the wire).</summary>
    private static byte[] Bomb()
    {
        var header = TarHeaders.Header("index.js", 10L * 1024 * 1024 * 1024);
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(header);
        }

        using var zeros = new MemoryStream();
        using (var gzip = new GZipStream(zeros, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var block = new byte[1024 * 1024];
            for (var i = 0; i < 100; i++)
            {
                gzip.Write(block);
            }
        }

        var member = zeros.ToArray();
        for (var i = 0; i < 100; i++)
        {
            output.Write(member);
        }

        return output.ToArray();
    }
}
