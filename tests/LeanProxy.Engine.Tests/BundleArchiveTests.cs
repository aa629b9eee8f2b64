using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using LeanProxy.Engine.Apps;
using LeanProxy.Tests.Shared;

namespace LeanProxy.Engine.Tests;

/// <summary>Deployed archives: what becomes a bundle and what is refused, with which reason and entry.</summary>
public sealed class BundleArchiveTests
{
    private static byte[] Tar(bool gzip, params TarEntry[] entries)
    {
        using var output = new MemoryStream();
        using (Stream target = gzip ? new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true) : output)
        using (var writer = new TarWriter(target, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                writer.WriteEntry(entry);
            }
        }

        return output.ToArray();
    }

    private static PaxTarEntry File(string path, string content) =>
        new(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) };

    [TestCase(false)]
    [TestCase(true)]
    public void ATarOrTarGzOfRegularFilesIsABundle(bool gzip)
    {
        var bundle = BundleArchive.Read("hello", Tar(gzip,
            new PaxTarEntry(TarEntryType.Directory, "./"),
            File("./index.js", "export default {}"),
            new PaxTarEntry(TarEntryType.Directory, "lib/"),
            File("lib/util.js", "export const x = 1;")));

        Assert.That(bundle.Name, Is.EqualTo("hello"));
        Assert.That(bundle.EntryPath, Is.EqualTo("/index.js"));
        Assert.That(bundle.Paths, Is.EqualTo(new[] { "/index.js", "/lib/util.js" }));
        Assert.That(bundle.SourceRoot, Is.Null);
    }

    [Test]
    public void TheSameFilesGiveTheSameHashWhateverTheArchive()
    {
        var plain = BundleArchive.Read("a", Tar(false, File("index.js", "x"), File("b.js", "y")));
        var zipped = BundleArchive.Read("a", Tar(true, File("./b.js", "y"), File("./index.js", "x")));
        Assert.That(zipped.Sha256, Is.EqualTo(plain.Sha256));
    }

    [TestCase(TarEntryType.SymbolicLink, "link.js", "symbolic link")]
    [TestCase(TarEntryType.HardLink, "hard.js", "hard link")]
    [TestCase(TarEntryType.CharacterDevice, "dev", "character device")]
    [TestCase(TarEntryType.Fifo, "pipe", "FIFO")]
    public void LinksAndDevicesAreRefusedNamingTheEntry(TarEntryType type, string name, string what)
    {
        var entry = new PaxTarEntry(type, name);
        if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink)
        {
            entry.LinkName = "/etc/passwd";
        }

        var error = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("a", Tar(false, File("index.js", "x"), entry)));
        Assert.That(error!.Reason, Is.EqualTo(BundleRejection.Invalid));
        Assert.That(error.Entry, Is.EqualTo(name));
        Assert.That(error.Message, Does.Contain(name).And.Contain(what));
    }

    [TestCase("../evil.js", "'..'")]
    [TestCase("lib/../../evil.js", "'..'")]
    [TestCase("/etc/cron.d/evil", "absolute")]
    public void PathsThatLeaveTheBundleAreRefused(string path, string why)
    {
        var error = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("a", Tar(false, File("index.js", "x"), File(path, "y"))));
        Assert.That(error!.Reason, Is.EqualTo(BundleRejection.Invalid));
        Assert.That(error.Entry, Is.EqualTo(path));
        Assert.That(error.Message, Does.Contain(why));
    }

    [Test]
    public void WithoutAnEntryModuleTheBundleIsRefused()
    {
        var error = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("a", Tar(false, File("lib/index.js", "x"))));
        Assert.That(error!.Reason, Is.EqualTo(BundleRejection.NoEntry));
        Assert.That(error.Message, Does.Contain("index.js"));
    }

    [Test]
    public void TooManyFilesAreRefused()
    {
        var entries = Enumerable.Range(0, BundleArchive.MaxFiles + 1).Select(i => (TarEntry)File($"f{i}.js", "")).Prepend(File("index.js", "x")).ToArray();
        var error = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("a", Tar(true, entries)));
        Assert.That(error!.Reason, Is.EqualTo(BundleRejection.TooManyFiles));
    }

    [Test]
    public void AGzipBombIsStoppedByTheUnpackedLimit()
    {
        // 256 MiB of zeros compress to a few MiB; the limit holds on what it unpacks to.
        var big = new PaxTarEntry(TarEntryType.RegularFile, "zeros.bin") { DataStream = new ZeroStream(BundleArchive.MaxUnpackedBytes + 1) };
        var archive = Tar(true, File("index.js", "x"), big);
        Assert.That(archive.Length, Is.LessThan(BundleArchive.MaxUnpackedBytes / 50));
        var error = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("a", archive));
        Assert.That(error!.Reason, Is.EqualTo(BundleRejection.TooLarge));
    }

    [TestCase("")]
    [TestCase("not an archive at all, just text that is long enough to look like something")]
    public void NotAnArchiveIsRefused(string body)
    {
        var error = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("a", Encoding.UTF8.GetBytes(body)));
        Assert.That(error!.Reason, Is.AnyOf(BundleRejection.Invalid, BundleRejection.NoEntry));
    }

    // Found by bench/fuzz (tar): TarReader threw OverflowException for a base-256 mode too large for its type, and
    // NotSupportedException for a sparse entry, which left BundleArchive.Read unrefused (a 500 from the admin API).
    [TestCase(false, (byte)'0', TestName = "A binary number too large for its field is refused")]
    [TestCase(true, (byte)'S', TestName = "A sparse entry is refused")]
    public void AHeaderTarReaderCannotReadIsRefused(bool sparse, byte type)
    {
        // A mode in base-256 (0x80 first) too large for its type, or a sparse entry; then the two zero blocks of the end.
        byte[] header = [.. TarHeaders.Header("index.js", 1, type, h =>
        {
            if (!sparse)
            {
                h[100] = 0x80;
                h.AsSpan(101, 7).Fill(0xFF);
            }
        }), .. new byte[512]];

        var refused = Assert.Throws<BundleArchiveException>(() => BundleArchive.Read("fuzz", header));
        Assert.That(refused!.Reason, Is.EqualTo(BundleRejection.Invalid));
        Assert.That(refused.Message, Does.StartWith("The body is not a tar or tar.gz archive"));
    }

    [Test]
    public void PackingAFolderRoundTripsItsFilesButNotGit()
    {
        var root = Path.Combine(Path.GetTempPath(), "lp-pack-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(root, "lib"));
        Directory.CreateDirectory(Path.Combine(root, ".git"));
        System.IO.File.WriteAllText(Path.Combine(root, "index.js"), "export default {}");
        System.IO.File.WriteAllText(Path.Combine(root, "lib", "a.js"), "export const a = 1;");
        System.IO.File.WriteAllText(Path.Combine(root, ".git", "HEAD"), "ref: refs/heads/main");
        try
        {
            var packed = BundleArchive.Pack(root);
            var bundle = BundleArchive.Read("x", packed);
            Assert.That(bundle.Paths, Is.EqualTo(new[] { "/index.js", "/lib/a.js" }));
            Assert.That(bundle.Sha256, Is.EqualTo(AppBundle.Load(root).Sha256), "the same files as serving the folder");
            Assert.That(BundleArchive.Pack(root), Is.EqualTo(packed), "packing is deterministic");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A stream of zeros of a given length, so that the test holds no large buffer.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => _position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _position + offset, _ => length + offset };

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
