using System.Security.Cryptography;
using SpineProd.Diagnostics;
using SpineProd.Planning;

namespace SpineProd.Downloads;

/// <summary>
/// Fills the download cache on the submit host (spine-prod's <c>--preload</c>), incrementally: a
/// cached file whose sha256 was verified, and that has not changed since (size and time recorded
/// beside it), is not read again; one that is missing or wrong is fetched into a temporary file,
/// verified, and renamed into place, so the cache never holds a partial or unverified file under
/// its final name. An unreachable URL or a wrong checksum is an SPN error before anything is submitted.
/// </summary>
public sealed class DownloadCache
{
    private readonly HttpClient _http;
    private readonly Action<string> _log;

    public DownloadCache(Action<string> log, HttpMessageHandler? handler = null)
    {
        _log = log;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) }, disposeHandler: handler is null)
        {
            Timeout = Timeout.InfiniteTimeSpan, // weights are gigabytes; the connection has its own timeout
        };
    }

    /// <summary>Counts of files fetched and already cached.</summary>
    public (int Fetched, int Cached) Preload(IEnumerable<DownloadPlan> downloads, string? file, CancellationToken cancel = default)
    {
        int fetched = 0, cached = 0;
        foreach (var d in downloads.GroupBy(d => d.CachedFile).Select(g => g.First()))
        {
            cancel.ThrowIfCancellationRequested();
            if (IsCachedAndVerified(d)) { cached++; continue; }
            Fetch(d, file, cancel);
            fetched++;
        }
        return (fetched, cached);
    }

    private static string StampOf(string cachedFile) =>
        Path.Combine(Path.GetDirectoryName(cachedFile)!, "." + Path.GetFileName(cachedFile) + ".spineprod-verified");

    private static string Stamp(FileInfo f, string sha) => $"{sha} {f.Length} {f.LastWriteTimeUtc.Ticks}\n";

    private bool IsCachedAndVerified(DownloadPlan d)
    {
        var info = new FileInfo(d.CachedFile);
        if (!info.Exists) return false;
        // No hash in the config: SPINE uses whatever the cache holds under the URL's name; so do we.
        if (d.Sha256 is null) { _log($"{d.Url}: cached ({d.CachedFile}; the config gives no sha256 to check it against)"); return true; }
        var stamp = StampOf(d.CachedFile);
        if (File.Exists(stamp) && File.ReadAllText(stamp) == Stamp(info, d.Sha256))
        {
            _log($"{d.Url}: cached and verified ({d.CachedFile})");
            return true;
        }
        string actual;
        using (var s = File.OpenRead(d.CachedFile)) actual = Convert.ToHexStringLower(SHA256.HashData(s));
        if (actual == d.Sha256)
        {
            TryWrite(stamp, Stamp(info, actual));
            _log($"{d.Url}: cached, sha256 verified ({d.CachedFile})");
            return true;
        }
        _log($"{d.Url}: the cached {d.CachedFile} has sha256 {actual}, not the config's {d.Sha256}: fetching it again");
        return false;
    }

    private void Fetch(DownloadPlan d, string? file, CancellationToken cancel)
    {
        var dir = Path.GetDirectoryName(d.CachedFile)!;
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpineProdException(ConfigDownloads.CacheUnwritable, $"The download cache {dir} cannot be created ({e.Message}); set DownloadCacheDir (or SPINE_CACHE_DIR) to a folder you can write, shared with the compute nodes. Nothing was submitted.", file);
        }
        var temp = Path.Combine(dir, $".{Path.GetFileName(d.CachedFile)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            _log($"{d.Url}: fetching into {d.CachedFile}");
            string actual;
            long bytes;
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                using (var input = OpenSource(d, file, cancel))
                {
                    var buffer = new byte[1 << 20];
                    int n;
                    while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        cancel.ThrowIfCancellationRequested();
                        sha.AppendData(buffer, 0, n);
                        output.Write(buffer, 0, n);
                    }
                    output.Flush(flushToDisk: true);
                    bytes = output.Length;
                }
                actual = Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            if (d.Sha256 is not null && actual != d.Sha256)
                throw new SpineProdException(ConfigDownloads.WrongChecksum,
                    $"{d.Key}: {d.Url} has sha256 {actual}, but the config says {d.Sha256}; the file was not cached and nothing was submitted. Fix the hash in the config, or the URL.", file);
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead);
            File.Move(temp, d.CachedFile, overwrite: true);   // rename(2): complete and verified, or not there
            if (d.Sha256 is not null) TryWrite(StampOf(d.CachedFile), Stamp(new FileInfo(d.CachedFile), actual));
            _log($"{d.Url}: {bytes / 1e6:F1} MB cached{(d.Sha256 is null ? "" : ", sha256 verified")}");
        }
        catch (HttpIOException e)
        {
            throw new SpineProdException(ConfigDownloads.Unreachable, $"{d.Key}: {d.Url} broke off while fetching ({e.Message}); nothing was cached or submitted. Submit again.", file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpineProdException(ConfigDownloads.CacheUnwritable, $"{d.Url} could not be written into the download cache {dir} ({e.Message}). Nothing was submitted.", file);
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { }
        }
    }

    private Stream OpenSource(DownloadPlan d, string? file, CancellationToken cancel)
    {
        var uri = new Uri(d.Url);
        try
        {
            if (uri.IsFile) return File.OpenRead(uri.LocalPath);
            var response = _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancel).GetAwaiter().GetResult();
            if (!response.IsSuccessStatusCode)
            {
                var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
                response.Dispose();
                throw new SpineProdException(ConfigDownloads.Unreachable, $"{d.Key}: {d.Url} answered {status}; nothing was submitted. Check the URL in the config.", file);
            }
            return response.Content.ReadAsStream(cancel);
        }
        catch (Exception e) when (e is HttpRequestException or FileNotFoundException or DirectoryNotFoundException || (e is TaskCanceledException && !cancel.IsCancellationRequested))
        {
            throw new SpineProdException(ConfigDownloads.Unreachable,
                $"{d.Key}: {d.Url} could not be fetched ({e.Message}); nothing was submitted. The submit host needs to reach it (compute nodes need not).", file);
        }
    }

    private static void TryWrite(string path, string text)
    {
        try { File.WriteAllText(path, text); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
