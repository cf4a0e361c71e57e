using System.Text;

namespace SpineProd.IO;

/// <summary>
/// The only way values reach a shell script. Job scripts are bash; nothing is eval'ed.
/// </summary>
public static class ShellQuote
{
    /// <summary>A literal word: single-quoted, so no expansion of any kind happens.</summary>
    public static string Literal(string value)
    {
        if (value.Length > 0 && value.All(IsSafeBare)) return value;
        return "'" + value.Replace("'", "'\\''") + "'";
    }

    /// <summary>
    /// A word that may name environment variables of the job (<c>$NAME</c> or <c>${NAME}</c>), which
    /// expand at run time; everything else is literal. Double-quoted with <c>\ " ` $</c> escaped, so
    /// no command substitution, arithmetic or word splitting can happen.
    /// </summary>
    public static string AllowingEnvironment(string value)
    {
        var sb = new StringBuilder("\"");
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '$' && TryReadVariable(value, i, out int end))
            {
                sb.Append(value, i, end - i);
                i = end - 1;
                continue;
            }
            if (c is '\\' or '"' or '`' or '$') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Splits a command line into words as a POSIX shell would for quotes and backslashes (no expansion).</summary>
    public static List<string> SplitWords(string commandLine)
    {
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (c == '\'')
            {
                int end = commandLine.IndexOf('\'', i + 1);
                if (end < 0) throw new FormatException("unterminated single quote");
                cur.Append(commandLine, i + 1, end - i - 1);
                i = end; inWord = true;
            }
            else if (c == '"')
            {
                i++; inWord = true;
                for (; i < commandLine.Length && commandLine[i] != '"'; i++)
                {
                    if (commandLine[i] == '\\' && i + 1 < commandLine.Length && commandLine[i + 1] is '"' or '\\' or '$' or '`') i++;
                    cur.Append(commandLine[i]);
                }
                if (i >= commandLine.Length) throw new FormatException("unterminated double quote");
            }
            else if (c == '\\' && i + 1 < commandLine.Length)
            {
                cur.Append(commandLine[++i]); inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(cur.ToString()); cur.Clear(); inWord = false; }
            }
            else
            {
                cur.Append(c); inWord = true;
            }
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }

    private static bool IsSafeBare(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/' or ':' or '=' or '+' or ',' or '@' or '%';

    private static bool TryReadVariable(string s, int dollar, out int end)
    {
        end = dollar;
        int i = dollar + 1;
        if (i >= s.Length) return false;
        if (s[i] == '{')
        {
            int j = i + 1;
            if (j >= s.Length || !(char.IsAsciiLetter(s[j]) || s[j] == '_')) return false;
            while (j < s.Length && (char.IsAsciiLetterOrDigit(s[j]) || s[j] == '_')) j++;
            if (j >= s.Length || s[j] != '}') return false;
            end = j + 1;
            return true;
        }
        if (!(char.IsAsciiLetter(s[i]) || s[i] == '_')) return false;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_')) i++;
        end = i;
        return true;
    }
}
