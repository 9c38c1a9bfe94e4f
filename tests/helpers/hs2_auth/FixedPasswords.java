// Test-only password check for the Spark Thrift Server (hive.server2.authentication=CUSTOM):
// accepts exactly the user=password pairs of the properties file named by the system
// property mnaas.test.passwords, so that a wrong password is refused as a real server does.
package mnaas.test;

import java.io.FileInputStream;
import java.io.IOException;
import java.util.Properties;
import javax.security.sasl.AuthenticationException;
import org.apache.hive.service.auth.PasswdAuthenticationProvider;

public class FixedPasswords implements PasswdAuthenticationProvider {
    @Override
    public void Authenticate(String user, String password) throws AuthenticationException {
        Properties known = new Properties();
        try (FileInputStream in = new FileInputStream(System.getProperty("mnaas.test.passwords"))) {
            known.load(in);
        } catch (IOException e) {
            throw new AuthenticationException("password file unreadable", e);
        }
        String expected = known.getProperty(user == null ? "" : user);
        if (expected == null || !expected.equals(password)) {
            throw new AuthenticationException("wrong user or password for " + user);
        }
    }
}
